// A hazel server with one custom service next to the built-ins.
//
//   make examples && examples/bin/score_server -p 9000 -b 127.0.0.1
//   (then send REQUEST service 100 op 1 with a player name; see README)
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
    } else {
      fprintf(stderr, "usage: score_server [-p PORT] [-b ADDR]\n");
      return 2;
    }
  }

  hazel::Daemon daemon(cfg);
  ScoreService score;
  std::string err;
  if (!daemon.mount(score, &err) || !daemon.start(&err)) {
    fprintf(stderr, "score_server: %s\n", err.c_str());
    return 1;
  }
  return daemon.run();  // until SIGTERM / SIGINT
}
