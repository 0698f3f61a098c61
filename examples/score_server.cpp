// A hazel server with one custom service next to the built-ins.
//
//   make examples && examples/bin/score_server -p 9000 -b 127.0.0.1 [-w N]
//   (then send REQUEST service 100 op 1 with a player name; see README)
//
// With -w N it runs N worker processes under a master, like ./hazel -w N;
// each worker mounts its own ScoreService, and the counters stay exact
// because they live in kv, whose keys each have one owner worker.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "hazel/daemon.h"
#include "score_service.h"

int main(int argc, char** argv) {
  hazel::Config cfg;  // sys, echo, kv and room are mounted by default
  for (int i = 1; i < argc; ++i) {
    if (strcmp(argv[i], "-p") == 0 && i + 1 < argc) {
      cfg.port = static_cast<uint16_t>(atoi(argv[++i]));
    } else if (strcmp(argv[i], "-b") == 0 && i + 1 < argc) {
      cfg.bind = argv[++i];
    } else if (strcmp(argv[i], "-w") == 0 && i + 1 < argc) {
      cfg.workers = static_cast<uint16_t>(atoi(argv[++i]));
    } else {
      fprintf(stderr, "usage: score_server [-p PORT] [-b ADDR] [-w WORKERS]\n");
      return 2;
    }
  }

  // Lives as long as the process (in every worker, each has its own copy).
  static ScoreService score;
  return hazel::run_server(
      cfg,
      [](hazel::Daemon& d, std::string* err) { return d.mount(score, err); },
      argv);  // until SIGTERM / SIGINT
}
