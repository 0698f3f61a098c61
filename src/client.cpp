#include "client.h"

#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "message.h"

namespace hazel {

Client::Client(Message& msg, ClientMemory& mem, int fd, ClientId id,
               size_t max_output)
    : msg_(msg), mem_(mem), fd_(fd), id_(id), out_(max_output) {
  timer.data = this;
}

Client::~Client() {
  // Arrays go back to the pool: a client that closes leaves them for the
  // next one instead of to the allocator.
  release_input();
  drop_output();
  out_.release_if_empty();
  if (fd_ >= 0) close(fd_);
}

void Client::on_io(uint32_t events) { msg_.on_client_io(*this, events); }

void Client::queue(const FrameHeader* h, std::string_view a,
                   std::string_view b) {
  size_t total = (h ? kHeaderSize : 0) + a.size() + b.size();
  // Only an empty ring takes a frame past the limit (see fits()): lift the
  // limit for this one frame.
  size_t limit = out_.limit();
  if (out_.size() + total > limit) out_.set_limit(out_.size() + total);
  out_.reserve(total);
  if (h) {
    uint8_t hdr[kHeaderSize];
    encode_header(*h, hdr);
    out_.append(hdr, kHeaderSize);
  }
  out_.append(a.data(), a.size());
  out_.append(b.data(), b.size());
  out_.set_limit(limit);
  mem_.output += total;
}

ssize_t Client::write_now(const FrameHeader* h, std::string_view a,
                          std::string_view b) {
  uint8_t hdr[kHeaderSize];
  struct iovec iov[3];
  int cnt = 0;
  if (h) {
    encode_header(*h, hdr);
    iov[cnt++] = {hdr, kHeaderSize};
  }
  if (!a.empty()) iov[cnt++] = {const_cast<char*>(a.data()), a.size()};
  if (!b.empty()) iov[cnt++] = {const_cast<char*>(b.data()), b.size()};
  struct msghdr mh{};
  mh.msg_iov = iov;
  mh.msg_iovlen = static_cast<size_t>(cnt);
  for (;;) {
    ssize_t n = sendmsg(fd_, &mh, MSG_NOSIGNAL);
    if (n >= 0) return n;
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return 0;
    return -1;
  }
}

void Client::queue_rest(size_t skip, const FrameHeader* h, std::string_view a,
                        std::string_view b) {
  if (h != nullptr && skip < kHeaderSize) {
    uint8_t hdr[kHeaderSize];
    encode_header(*h, hdr);
    std::string_view rest(reinterpret_cast<const char*>(hdr) + skip,
                          kHeaderSize - skip);
    // The header's tail goes in as a part of its own.
    queue(nullptr, rest, {});
    skip = 0;
  } else if (h != nullptr) {
    skip -= kHeaderSize;
  }
  size_t from_a = std::min(skip, a.size());
  a.remove_prefix(from_a);
  b.remove_prefix(std::min(skip - from_a, b.size()));
  queue(nullptr, a, b);
  head_left_ = out_.size();  // the ring was empty: all of it is this frame
}

void Client::advance_output(size_t n) {
  if (n == out_.size()) {  // all of it: the head is at a boundary again
    head_left_ = 0;
    return;
  }
  size_t off = std::min(n, head_left_);
  head_left_ -= off;
  if (head_left_ > 0) return;
  // Frames past the first are whole in the ring: read their lengths.
  while (off < n) {
    uint8_t len[4];
    out_.peek(off + 12, 4, len);
    size_t total = kHeaderSize + get_u32(len);
    if (off + total > n) {
      head_left_ = off + total - n;
      return;
    }
    off += total;
  }
}

Client::Flush Client::flush() {
  while (!out_.empty()) {
    struct iovec iov[2];
    int cnt = out_.readable_spans(iov);
    // send/sendmsg rather than write/writev: MSG_NOSIGNAL turns a closed
    // peer into EPIPE instead of a process-wide SIGPIPE. One span (the
    // usual case) skips copying an iovec array into the kernel.
    ssize_t n;
    if (cnt == 1) {
      n = send(fd_, iov[0].iov_base, iov[0].iov_len, MSG_NOSIGNAL);
    } else {
      struct msghdr mh{};
      mh.msg_iov = iov;
      mh.msg_iovlen = static_cast<size_t>(cnt);
      n = sendmsg(fd_, &mh, MSG_NOSIGNAL);
    }
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return Flush::kPending;
      return Flush::kError;
    }
    advance_output(static_cast<size_t>(n));
    out_.consume(static_cast<size_t>(n));
    mem_.output -= static_cast<size_t>(n);
  }
  return Flush::kDone;
}

}  // namespace hazel
