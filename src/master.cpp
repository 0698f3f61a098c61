#include "master.h"

#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "client_id.h"
#include "core.h"
#include "gateway.h"
#include "log.h"
#include "services/token_policy.h"

namespace hazel::detail {

namespace {
constexpr uint32_t kFirstBackoffMs = 10;
constexpr uint32_t kMaxBackoffMs = 5000;
constexpr uint64_t kHealthyMs = 30000;     // up this long: backoff resets
constexpr uint64_t kStormWindowMs = 60000;
constexpr size_t kStormDeaths = 10;        // more in the window: give up
// Workers drain for up to shutdown_flush_ms (2 s); whoever is still there
// after this is killed, so the master exits within 5 s of SIGTERM.
constexpr uint32_t kKillAfterMs = 4500;

constexpr uint8_t kCtlLink = 1;   // must match bus.cpp
constexpr uint8_t kCtlReady = 2;

bool send_fd(int control, uint16_t worker, int fd) {
  uint8_t msg[3] = {kCtlLink, 0, 0};
  put_u16(msg + 1, worker);
  struct iovec iov = {msg, sizeof msg};
  union {
    struct cmsghdr align;
    char buf[CMSG_SPACE(sizeof(int))];
  } ctl{};
  struct msghdr mh{};
  mh.msg_iov = &iov;
  mh.msg_iovlen = 1;
  mh.msg_control = ctl.buf;
  mh.msg_controllen = sizeof ctl.buf;
  struct cmsghdr* c = CMSG_FIRSTHDR(&mh);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(c), &fd, sizeof fd);
  ssize_t n;
  do {
    n = sendmsg(control, &mh, MSG_NOSIGNAL);
  } while (n < 0 && errno == EINTR);
  return n == static_cast<ssize_t>(sizeof msg);
}

std::string describe_exit(int status) {
  if (WIFEXITED(status)) return "exited with status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return std::string("killed by ") + strsignal(WTERMSIG(status));
  return "stopped";
}
}  // namespace

struct Master::Slot {
  uint16_t index = 0;
  int listen_fd = -1;
  int ws_fd = -1;     // the WebSocket port's socket (--ws-port)
  int admin_fd = -1;  // the admin port's (--admin-port)
  pid_t pid = -1;            // the worker serving this slot
  int control = -1;          // master's end of its control channel
  std::unique_ptr<ControlHandler> handler;
  uint32_t incarnation = 0;  // of the next worker spawned here
  uint64_t started_ms = 0;
  uint32_t backoff_ms = kFirstBackoffMs;
  pid_t old_pid = -1;        // a replaced worker still draining (SIGHUP)
  TimerNode respawn;
  Master* master = nullptr;
};

// Reads READY from a worker's control channel.
class Master::ControlHandler final : public IoHandler {
 public:
  ControlHandler(Master& m, uint16_t index, int fd)
      : m_(m), index_(index), fd_(fd) {}
  void on_io(uint32_t) override {
    for (;;) {
      uint8_t msg[8];
      ssize_t n = recv(fd_, msg, sizeof msg, MSG_DONTWAIT);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return;  // EAGAIN
      if (n == 0) {
        // The worker is gone; SIGCHLD tells the rest.
        m_.loop_.remove(fd_);
        return;
      }
      if (msg[0] == kCtlReady) m_.on_ready(index_);
    }
  }

 private:
  Master& m_;
  uint16_t index_;
  int fd_;
};

Master::Master(Config cfg, DaemonSetup setup, char** argv)
    : cfg_(std::move(cfg)), setup_(std::move(setup)), argv_(argv) {
  kill_deadline_.fire = &Master::on_kill_deadline;
  kill_deadline_.data = this;
}

Master::~Master() {
  loop_.timers().cancel(&kill_deadline_);
  for (auto& s : slots_) {
    loop_.timers().cancel(&s->respawn);
    if (s->control >= 0) {
      loop_.remove(s->control);
      close(s->control);
    }
    for (int fd : {s->listen_fd, s->ws_fd, s->admin_fd})
      if (fd >= 0) close(fd);
  }
}

bool Master::bind_all(std::string* err) {
  for (uint16_t i = 0; i < cfg_.workers; ++i) {
    auto s = std::make_unique<Slot>();
    s->index = i;
    s->master = this;
    s->respawn.fire = &Master::on_respawn;
    s->respawn.data = s.get();
    slots_.push_back(std::move(s));
  }
  if (!bind_port(cfg_.bind, &cfg_.port, &Slot::listen_fd, err)) return false;
  if (cfg_.ws_listen && !bind_port(cfg_.bind, &cfg_.ws_port, &Slot::ws_fd, err))
    return false;
  if (cfg_.admin_listen &&
      !bind_port(cfg_.admin_bind, &cfg_.admin_port, &Slot::admin_fd, err))
    return false;
  return true;
}

bool Master::bind_port(const std::string& addr, uint16_t* port, int Slot::*fd,
                       std::string* err) {
  // A probe without SO_REUSEPORT first: it fails if anything holds the port,
  // another hazel with workers included (which would otherwise silently
  // share it with us).
  int probe = listen_socket(addr, *port, false, port, err);
  if (probe < 0) return false;
  close(probe);
  for (auto& s : slots_) {
    (*s).*fd = listen_socket(addr, *port, true, port, err);
    if ((*s).*fd < 0) return false;
  }
  return true;
}

int Master::run() {
  pid_ = getpid();
  std::string err;
  if (!loop_.init(&err)) {
    fprintf(stderr, "%s\n", err.c_str());
    return 1;
  }
  set_log_level(cfg_.log_level);
  if (cfg_.workers > kMaxWorkers) {
    fprintf(stderr, "at most %u workers\n", kMaxWorkers);
    return 1;
  }
  if (!bind_all(&err)) {
    fprintf(stderr, "%s\n", err.c_str());
    return 1;
  }
  set_log_tag("master");
  set_process_title(argv_, "hazel: master");
  const int sigs[] = {SIGCHLD, SIGHUP, SIGTERM, SIGINT};
  loop_.set_on_signal(&Master::on_signal, this);
  if (!loop_.watch_signals(sigs, 4, &err)) {
    HZ_ERROR("%s", err.c_str());
    return 1;
  }
  HZ_INFO("hazel %s master on %s:%u with %u workers", version(),
          cfg_.bind.c_str(), cfg_.port, cfg_.workers);
  for (uint16_t i = 0; i < cfg_.workers; ++i) {
    if (!spawn(i)) {
      stop_all(1);
      break;
    }
  }
  loop_.run();
  HZ_INFO("stopped");
  return exit_code_;
}

bool Master::spawn(uint16_t index) {
  Slot& s = *slots_[index];
  if (s.incarnation > kMaxIncarnation) {
    HZ_ERROR("worker %u was restarted %u times: no client ids left for it",
             index, kMaxIncarnation);
    return false;
  }
  int ctl[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, ctl) != 0) {
    HZ_ERROR("socketpair(control): %s", strerror(errno));
    return false;
  }
  // A fresh link to every worker alive now: ours go to the child, theirs
  // over their control channels.
  std::vector<std::pair<uint16_t, int>> mine;   // (peer, fd) for the child
  std::vector<std::pair<uint16_t, int>> theirs; // (peer, fd) to send
  for (auto& o : slots_) {
    if (o->index == index || o->pid <= 0) continue;
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) != 0) {
      HZ_ERROR("socketpair(bus): %s", strerror(errno));
      continue;
    }
    mine.emplace_back(o->index, sv[0]);
    theirs.emplace_back(o->index, sv[1]);
  }
  uint32_t incarnation = s.incarnation++;
  pid_t pid = fork();
  if (pid < 0) {
    HZ_ERROR("fork(worker %u): %s", index, strerror(errno));
    close(ctl[0]);
    close(ctl[1]);
    for (auto& [w, fd] : mine) close(fd);
    for (auto& [w, fd] : theirs) close(fd);
    return false;
  }
  if (pid == 0) {
    std::vector<int> drop = {ctl[0]};
    for (auto& [w, fd] : theirs) drop.push_back(fd);
    s.incarnation = incarnation;
    run_worker(index, ctl[1], std::move(mine), drop);
  }
  close(ctl[1]);
  for (auto& [w, fd] : mine) close(fd);
  for (auto& [w, fd] : theirs) {
    if (!send_fd(slots_[w]->control, index, fd))
      HZ_WARN("passing worker %u its link to worker %u: %s", w, index,
              strerror(errno));
    close(fd);
  }
  if (s.pid > 0 && s.old_pid <= 0) s.old_pid = s.pid;  // being replaced
  if (s.control >= 0) {
    loop_.remove(s.control);
    close(s.control);
  }
  s.pid = pid;
  s.control = ctl[0];
  s.started_ms = loop_.now_ms();
  s.handler = std::make_unique<ControlHandler>(*this, index, ctl[0]);
  loop_.add(ctl[0], EPOLLIN, s.handler.get());
  HZ_INFO("worker %u started (pid %d)", index, static_cast<int>(pid));
  return true;
}

void Master::run_worker(uint16_t index, int control,
                        std::vector<std::pair<uint16_t, int>> links,
                        const std::vector<int>& close_in_child) {
  // Die with the master: a kill -9 of it must leave no worker behind.
  prctl(PR_SET_PDEATHSIG, SIGTERM);
  if (getppid() != pid_) _exit(1);
  // Nothing of the master's survives in the worker but what it was given.
  loop_.close_after_fork();
  for (int fd : close_in_child) close(fd);
  for (auto& o : slots_) {
    if (o->control >= 0) close(o->control);
    if (o->index == index) continue;
    for (int fd : {o->listen_fd, o->ws_fd, o->admin_fd})
      if (fd >= 0) close(fd);
  }
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  // A terminal's hangup is the master's business (SIGHUP = reload).
  signal(SIGHUP, SIG_IGN);
  std::string tag = "worker " + std::to_string(index);
  set_log_tag(tag.c_str());
  set_process_title(argv_, "hazel: " + tag);

  int code = 1;
  {
    Config wcfg = cfg_;
    wcfg.worker_index = index;
    Daemon d(wcfg);
    std::string err;
    WorkerSetup ws;
    ws.index = index;
    ws.workers = cfg_.workers;
    ws.incarnation = slots_[index]->incarnation;
    ws.listen_fd = slots_[index]->listen_fd;
    ws.ws_listen_fd = slots_[index]->ws_fd;
    ws.admin_listen_fd = slots_[index]->admin_fd;
    ws.control_fd = control;
    ws.links = std::move(links);
    core_of(d).adopt(std::move(ws));
    if (setup_ && !setup_(d, &err)) {
      HZ_ERROR("setup: %s", err.c_str());
    } else if (!d.start(&err)) {
      HZ_ERROR("%s", err.c_str());
    } else {
      code = d.run();
    }
  }
  _exit(code);
}

void Master::on_ready(uint16_t index) {
  Slot& s = *slots_[index];
  HZ_DEBUG("worker %u ready", index);
  // SIGHUP: the successor serves; now the old worker drains its clients.
  if (s.old_pid > 0) kill(s.old_pid, SIGTERM);
}

void Master::on_child_exit(pid_t pid, int status) {
  uint64_t now = loop_.now_ms();
  for (auto& sp : slots_) {
    Slot& s = *sp;
    if (pid == s.old_pid) {
      HZ_INFO("replaced worker %u (pid %d) %s", s.index, static_cast<int>(pid),
              describe_exit(status).c_str());
      s.old_pid = -1;
      if (reload_at_ == s.index) {
        ++reload_at_;
        reload_next();
      }
      maybe_finish();
      return;
    }
    if (pid != s.pid) continue;
    s.pid = -1;
    if (s.control >= 0) {
      loop_.remove(s.control);
      close(s.control);
      s.control = -1;
    }
    if (stopping_) {
      HZ_INFO("worker %u (pid %d) %s", s.index, static_cast<int>(pid),
              describe_exit(status).c_str());
      maybe_finish();
      return;
    }
    HZ_ERROR("worker %u (pid %d) %s; restarting it", s.index,
             static_cast<int>(pid), describe_exit(status).c_str());
    deaths_.push_back(now);
    while (!deaths_.empty() && now - deaths_.front() > kStormWindowMs)
      deaths_.pop_front();
    if (deaths_.size() > kStormDeaths) {
      HZ_ERROR("%zu worker deaths within %llu s: stopping the server",
               deaths_.size(),
               static_cast<unsigned long long>(kStormWindowMs / 1000));
      stop_all(1);
      return;
    }
    if (now - s.started_ms >= kHealthyMs) s.backoff_ms = kFirstBackoffMs;
    schedule_respawn(s);
    return;
  }
}

void Master::schedule_respawn(Slot& s) {
  loop_.add_timer(&s.respawn, s.backoff_ms);
  s.backoff_ms = std::min(s.backoff_ms * 2, kMaxBackoffMs);
}

void Master::on_respawn(TimerNode* n) {
  Slot& s = *static_cast<Slot*>(n->data);
  Master& m = *s.master;
  if (m.stopping_ || s.pid > 0) return;
  if (!m.spawn(s.index)) m.schedule_respawn(s);
}

void Master::reload_next() {
  while (reload_at_ >= 0 && reload_at_ < static_cast<int>(slots_.size())) {
    Slot& s = *slots_[static_cast<size_t>(reload_at_)];
    if (s.pid <= 0) {  // down and waiting for its respawn: nothing to replace
      ++reload_at_;
      continue;
    }
    HZ_INFO("reload: replacing worker %u", s.index);
    if (spawn(s.index)) return;  // continues when the old one has exited
    ++reload_at_;
  }
  if (reload_at_ >= 0) HZ_INFO("reload: every worker replaced");
  reload_at_ = -1;
}

void Master::stop_all(int exit_code) {
  if (exit_code != 0) exit_code_ = exit_code;
  if (stopping_) return;
  stopping_ = true;
  reload_at_ = -1;
  for (auto& s : slots_) {
    loop_.timers().cancel(&s->respawn);
    if (s->pid > 0) kill(s->pid, SIGTERM);
    if (s->old_pid > 0) kill(s->old_pid, SIGTERM);
    // No worker will take these sockets again. Held here, a slot whose
    // worker has exited (or closed its listener to drain) would still
    // complete handshakes that nobody accepts: a client would hang, a load
    // balancer's /healthz probe time out, instead of being refused or
    // reaching a worker that is still draining.
    for (int* fd : {&s->listen_fd, &s->ws_fd, &s->admin_fd}) {
      if (*fd >= 0) close(*fd);
      *fd = -1;
    }
  }
  loop_.add_timer(&kill_deadline_, kKillAfterMs);
  maybe_finish();
}

void Master::maybe_finish() {
  if (!stopping_) return;
  for (auto& s : slots_)
    if (s->pid > 0 || s->old_pid > 0) return;
  loop_.stop();
}

void Master::on_kill_deadline(TimerNode* n) {
  auto* m = static_cast<Master*>(n->data);
  for (auto& s : m->slots_) {
    for (pid_t p : {s->pid, s->old_pid}) {
      if (p <= 0) continue;
      HZ_WARN("worker %u (pid %d) did not drain in time: killing it",
              s->index, static_cast<int>(p));
      kill(p, SIGKILL);
    }
  }
}

void Master::on_signal(void* arg, int signo) {
  auto* m = static_cast<Master*>(arg);
  switch (signo) {
    case SIGCHLD: {
      int status;
      pid_t pid;
      while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
        m->on_child_exit(pid, status);
      return;
    }
    case SIGHUP:
      if (m->stopping_) return;
      if (m->reload_at_ >= 0) {
        HZ_INFO("received SIGHUP: a reload is already under way");
        return;
      }
      if (!m->cfg_.auth_secret_file.empty()) {
        // New workers read the secret file again; one they cannot read
        // would fail them over and over. Keep the ones that serve.
        std::vector<std::string> keys;
        std::string err;
        if (!services::load_secret_file(m->cfg_.auth_secret_file, &keys, &err)) {
          HZ_ERROR("received SIGHUP: not reloading: %s", err.c_str());
          return;
        }
      }
      HZ_INFO("received SIGHUP: replacing the workers one at a time");
      m->reload_at_ = 0;
      m->reload_next();
      return;
    default:
      HZ_INFO("received %s, stopping the workers", strsignal(signo));
      m->stop_all(0);
  }
}

void set_process_title(char** argv, const std::string& title) {
  prctl(PR_SET_NAME, title.c_str());
  // The argv strings lie back to back; their whole extent is measured once,
  // before the first title overwrites them (a worker inherits the master's).
  static char* start = nullptr;
  static size_t room = 0;
  if (start == nullptr) {
    if (argv == nullptr || argv[0] == nullptr) return;
    start = argv[0];
    char* end = start + strlen(start);
    for (int i = 1; argv[i] != nullptr && argv[i] == end + 1; ++i)
      end = argv[i] + strlen(argv[i]);
    room = static_cast<size_t>(end - start);
  }
  size_t n = std::min(room, title.size());
  memcpy(start, title.data(), n);
  memset(start + n, 0, room - n + 1);
}

}  // namespace hazel::detail
