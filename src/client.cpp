#include "client.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
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

size_t Client::prefix(const FrameHeader* h, size_t body, uint8_t* out) const {
  size_t n = 0;
  if (ws) {
    // Every hazel frame travels as one binary WebSocket message.
    n = ws::encode_header(out, ws::Opcode::kBinary,
                          (h ? kHeaderSize : 0) + body);
  }
  if (h) {
    encode_header(*h, out + n);
    n += kHeaderSize;
  }
  return n;
}

void Client::append(std::string_view pre, std::string_view a,
                    std::string_view b) {
  size_t total = pre.size() + a.size() + b.size();
  // Only an empty ring takes a frame past the limit (see fits()): lift the
  // limit for this one frame.
  size_t limit = out_.limit();
  if (out_.size() + total > limit) out_.set_limit(out_.size() + total);
  out_.reserve(total);
  out_.append(pre.data(), pre.size());
  out_.append(a.data(), a.size());
  out_.append(b.data(), b.size());
  out_.set_limit(limit);
  mem_.output += total;
}

void Client::queue(const FrameHeader* h, std::string_view a,
                   std::string_view b) {
  uint8_t pre[kMaxPrefix];
  size_t n = prefix(h, a.size() + b.size(), pre);
  append({reinterpret_cast<const char*>(pre), n}, a, b);
}

void Client::queue_control(ws::Opcode op, std::string_view payload) {
  uint8_t pre[ws::kMaxHeader];
  size_t n = ws::encode_header(pre, op, payload.size());
  append({reinterpret_cast<const char*>(pre), n}, payload, {});
}

ssize_t Client::write_now(const FrameHeader* h, std::string_view a,
                          std::string_view b, int flags) {
  uint8_t pre[kMaxPrefix];
  size_t n = prefix(h, a.size() + b.size(), pre);
  struct iovec iov[3];
  int cnt = 0;
  if (n > 0) iov[cnt++] = {pre, n};
  if (!a.empty()) iov[cnt++] = {const_cast<char*>(a.data()), a.size()};
  if (!b.empty()) iov[cnt++] = {const_cast<char*>(b.data()), b.size()};
  struct msghdr mh{};
  mh.msg_iov = iov;
  mh.msg_iovlen = static_cast<size_t>(cnt);
  for (;;) {
    ssize_t sent = sendmsg(fd_, &mh, MSG_NOSIGNAL | flags);
    if (sent >= 0) return sent;
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return 0;
    return -1;
  }
}

void Client::uncork() {
  corked = false;
  int one = 1;
  setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

void Client::queue_rest(size_t skip, const FrameHeader* h, std::string_view a,
                        std::string_view b) {
  uint8_t pre[kMaxPrefix];
  size_t n = prefix(h, a.size() + b.size(), pre);
  std::string_view p(reinterpret_cast<const char*>(pre), n);
  size_t cut = std::min(skip, p.size());
  p.remove_prefix(cut);
  skip -= cut;
  cut = std::min(skip, a.size());
  a.remove_prefix(cut);
  skip -= cut;
  b.remove_prefix(std::min(skip, b.size()));
  append(p, a, b);
  head_left_ = out_.size();  // the ring was empty: all of it is this frame
}

size_t Client::unit_size(size_t off) const {
  if (!ws) {
    uint8_t len[4];
    out_.peek(off + 12, 4, len);
    return kHeaderSize + get_u32(len);
  }
  // A WebSocket frame the server wrote: unmasked, 7-, 16- or 64-bit length.
  uint8_t h[10];
  out_.peek(off, 2, h);
  uint64_t len = h[1] & 0x7f;
  size_t hdr = 2;
  if (len == 126) {
    out_.peek(off, 4, h);
    len = get_u16(h + 2);
    hdr = 4;
  } else if (len == 127) {
    out_.peek(off, 10, h);
    len = get_u64(h + 2);
    hdr = 10;
  }
  return hdr + static_cast<size_t>(len);
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
    size_t total = unit_size(off);
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
