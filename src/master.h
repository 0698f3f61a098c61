// Master: the supervisor of a server's worker processes (./hazel -w N).
//
//   master ── binds one SO_REUSEPORT socket per worker slot before any fork
//     │        and keeps every one open, so a slot is never without a socket:
//     │        connections queued for a worker that died wait for its
//     │        successor instead of being reset
//     ├── worker 0   each a full daemon; inherits its slot's socket, its
//     ├── worker 1   control channel and one bus socketpair per live worker;
//     └── worker 2   the master sends the other ends to those workers
//
// The master holds no clients and serves no requests. It restarts a worker
// that dies (backoff 10 ms doubling to 5 s, reset after 30 s of health; more
// than 10 deaths in 60 s stop the server with exit 1), drains every worker
// on SIGTERM/SIGINT, and on SIGHUP replaces the workers one at a time: the
// successor takes the slot's socket, then the old one drains its clients.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "hazel/daemon.h"
#include "loop.h"

namespace hazel::detail {

class Master {
 public:
  Master(Config cfg, DaemonSetup setup, char** argv);
  ~Master();
  Master(const Master&) = delete;
  Master& operator=(const Master&) = delete;

  // Binds, starts the workers, supervises until stopped. Returns the exit
  // code: 0 after a clean stop, 1 if the server could not run.
  int run();

 private:
  struct Slot;
  class ControlHandler;

  bool bind_all(std::string* err);
  bool bind_port(const std::string& addr, uint16_t* port, int Slot::*fd,
                 std::string* err);
  bool spawn(uint16_t index);
  [[noreturn]] void run_worker(uint16_t index, int control,
                               std::vector<std::pair<uint16_t, int>> links,
                               const std::vector<int>& close_in_child);
  void on_child_exit(pid_t pid, int status);
  void on_ready(uint16_t index);
  void schedule_respawn(Slot& s);
  void reload_next();
  void stop_all(int exit_code);
  void maybe_finish();
  static void on_signal(void* arg, int signo);
  static void on_respawn(TimerNode* n);
  static void on_kill_deadline(TimerNode* n);

  Config cfg_;
  DaemonSetup setup_;
  char** argv_;
  Loop loop_;
  std::vector<std::unique_ptr<Slot>> slots_;
  std::deque<uint64_t> deaths_;  // when workers died, for the storm check
  pid_t pid_ = 0;
  bool stopping_ = false;
  int exit_code_ = 0;
  int reload_at_ = -1;  // slot being replaced by SIGHUP, -1 when none
  TimerNode kill_deadline_;
};

// Overwrites the process's argv area so ps shows `title`, and sets the
// thread name (what top shows).
void set_process_title(char** argv, const std::string& title);

}  // namespace hazel::detail
