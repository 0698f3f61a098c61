/* raw_echo — the smallest single-threaded epoll server that echoes bytes.
 *
 * It is the physical baseline for one core: no framing, no parsing, no
 * dispatch, just read() and write(). Whatever hazel loses against it is the
 * price of the protocol and the framework; whatever raw_echo itself reaches is
 * what the kernel and loopback allow.
 *
 * Level-triggered. Every read goes into one shared buffer and is written
 * straight back; only bytes the socket refuses are copied into a per-connection
 * backlog, and while a backlog exists the connection stops reading (EPOLLOUT
 * instead of EPOLLIN), so a client that does not read cannot grow it beyond
 * one read's worth.
 *
 * usage: raw_echo [-p port] [-b addr]     (default 127.0.0.1:9100)
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

enum { kReadBufferSize = 256 * 1024, kMaxEvents = 256, kBacklog = 4096 };

/* Bytes that were read but not yet written back. */
struct pending {
  char *data;
  size_t len;
  size_t off;
};

static struct pending *conns; /* indexed by fd */
static size_t conns_cap;
static int epfd;

static void die(const char *what) {
  fprintf(stderr, "raw_echo: %s: %s\n", what, strerror(errno));
  exit(1);
}

static struct pending *conn_of(int fd) {
  size_t need = (size_t)fd + 1;
  if (need > conns_cap) {
    size_t cap = conns_cap ? conns_cap : 1024;
    while (cap < need) cap *= 2;
    struct pending *grown = realloc(conns, cap * sizeof *grown);
    if (!grown) die("realloc");
    memset(grown + conns_cap, 0, (cap - conns_cap) * sizeof *grown);
    conns = grown;
    conns_cap = cap;
  }
  return &conns[fd];
}

static void watch(int fd, int op, unsigned events) {
  struct epoll_event ev = {.events = events, .data.fd = fd};
  if (epoll_ctl(epfd, op, fd, &ev) < 0) die("epoll_ctl");
}

static void drop(int fd) {
  struct pending *p = conn_of(fd);
  free(p->data);
  memset(p, 0, sizeof *p);
  close(fd); /* also removes it from the epoll set */
}

/* Writes as much of buf as the socket takes; returns bytes written or -1. */
static ssize_t write_some(int fd, const char *buf, size_t len) {
  size_t done = 0;
  while (done < len) {
    ssize_t w = send(fd, buf + done, len - done, MSG_NOSIGNAL);
    if (w >= 0) {
      done += (size_t)w;
    } else if (errno == EINTR) {
      continue;
    } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
      break;
    } else {
      return -1;
    }
  }
  return (ssize_t)done;
}

static void on_accept(int lfd) {
  for (;;) {
    int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) return;
      if (errno == EINTR || errno == ECONNABORTED) continue;
      /* EMFILE and friends: leave the rest in the backlog and go on serving
       * the connections we have; there is no spare-fd trick here. */
      perror("raw_echo: accept");
      return;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    conn_of(fd);
    watch(fd, EPOLL_CTL_ADD, EPOLLIN);
  }
}

static void on_readable(int fd, char *buf) {
  ssize_t r = recv(fd, buf, kReadBufferSize, 0);
  if (r == 0) {
    drop(fd);
    return;
  }
  if (r < 0) {
    if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) drop(fd);
    return;
  }
  ssize_t w = write_some(fd, buf, (size_t)r);
  if (w < 0) {
    drop(fd);
    return;
  }
  if (w == r) return;
  /* The socket is full: keep the rest and wait until it drains. */
  struct pending *p = conn_of(fd);
  p->len = (size_t)(r - w);
  p->off = 0;
  p->data = malloc(p->len);
  if (!p->data) die("malloc");
  memcpy(p->data, buf + w, p->len);
  watch(fd, EPOLL_CTL_MOD, EPOLLOUT);
}

static void on_writable(int fd) {
  struct pending *p = conn_of(fd);
  ssize_t w = write_some(fd, p->data + p->off, p->len - p->off);
  if (w < 0) {
    drop(fd);
    return;
  }
  p->off += (size_t)w;
  if (p->off < p->len) return;
  free(p->data);
  memset(p, 0, sizeof *p);
  watch(fd, EPOLL_CTL_MOD, EPOLLIN);
}

static int listen_on(const char *addr, int port) {
  struct sockaddr_in sa = {.sin_family = AF_INET,
                           .sin_port = htons((uint16_t)port)};
  if (inet_pton(AF_INET, addr, &sa.sin_addr) != 1) {
    fprintf(stderr, "raw_echo: not an IPv4 address: %s\n", addr);
    exit(2);
  }
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) die("socket");
  int one = 1;
  if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0)
    die("SO_REUSEADDR");
  if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0) die("bind");
  if (listen(fd, kBacklog) < 0) die("listen");
  return fd;
}

static void usage(void) {
  fprintf(stderr,
          "usage: raw_echo [-p port] [-b addr]   (default 127.0.0.1:9100)\n");
  exit(2);
}

int main(int argc, char **argv) {
  const char *addr = "127.0.0.1";
  int port = 9100;
  for (int i = 1; i < argc; ++i) {
    if (i + 1 < argc && strcmp(argv[i], "-p") == 0) {
      char *end;
      long v = strtol(argv[++i], &end, 10);
      if (*end != '\0' || v < 1 || v > 65535) usage();
      port = (int)v;
    } else if (i + 1 < argc && strcmp(argv[i], "-b") == 0) {
      addr = argv[++i];
    } else {
      usage();
    }
  }
  signal(SIGPIPE, SIG_IGN);

  int lfd = listen_on(addr, port);
  epfd = epoll_create1(EPOLL_CLOEXEC);
  if (epfd < 0) die("epoll_create1");
  watch(lfd, EPOLL_CTL_ADD, EPOLLIN);

  static char buf[kReadBufferSize];
  struct epoll_event events[kMaxEvents];
  for (;;) {
    int n = epoll_wait(epfd, events, kMaxEvents, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      die("epoll_wait");
    }
    for (int i = 0; i < n; ++i) {
      int fd = events[i].data.fd;
      if (fd == lfd) {
        on_accept(lfd);
      } else if (conn_of(fd)->data) {
        on_writable(fd);
      } else {
        on_readable(fd, buf);
      }
    }
  }
}
