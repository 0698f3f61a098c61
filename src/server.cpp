// run_server: ./hazel's whole life, for it and for embedders: a lone daemon,
// or a master with its workers.
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

#include "hazel/daemon.h"
#include "master.h"
#include "services/token_policy.h"

namespace hazel {

int run_server(Config cfg, DaemonSetup setup, char** argv) {
  if (cfg.workers > 1) {
    // Every worker reads the secret file when it starts; a master that
    // cannot read it would only restart workers that fail. Check it once
    // here, so the server refuses to start.
    if (!cfg.auth_secret_file.empty()) {
      std::vector<std::string> keys;
      std::string err;
      if (!services::load_secret_file(cfg.auth_secret_file, &keys, &err)) {
        fprintf(stderr, "%s\n", err.c_str());
        return 1;
      }
    }
    detail::Master master(std::move(cfg), std::move(setup), argv);
    return master.run();
  }
  Daemon daemon(std::move(cfg));
  std::string err;
  if (setup && !setup(daemon, &err)) {
    fprintf(stderr, "%s\n", err.c_str());
    return 1;
  }
  if (!daemon.start(&err)) {
    fprintf(stderr, "%s\n", err.c_str());
    return 1;
  }
  return daemon.run();
}

}  // namespace hazel
