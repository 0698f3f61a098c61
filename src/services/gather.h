// ask_other_workers(): one request answered from the answers of every other
// worker (sys INFO, room PUBLISH/JOIN/MEMBERS with -w N), or with --cluster
// of every other node that is up. The same op goes
// to the service's copy on each worker that is up, with from_worker set so
// that copy answers for its own worker only; `finish` runs once, when the
// last answer (or its TIMEOUT / UNAVAILABLE) is in, with the reply to send.
// Written on the public API only.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "hazel/service.h"

namespace hazel::services {

struct WorkerAnswer {
  uint16_t worker = 0;
  Status status = Status::kOk;
  std::string body;
};

using GatherDone = UniqueFunction<void(Reply& reply,
                                       std::vector<WorkerAnswer>& answers)>;

inline void ask_other_workers(Context& ctx, uint16_t service, uint16_t op,
                              std::string_view body, ClientId on_behalf,
                              Reply reply, GatherDone finish) {
  struct State {
    Reply reply;
    GatherDone finish;
    std::vector<WorkerAnswer> answers;
    size_t waiting = 0;
  };
  auto st = std::make_shared<State>();
  st->reply = std::move(reply);
  st->finish = std::move(finish);
  std::vector<uint16_t> targets;
  for (uint16_t w = 0; w < ctx.peers(); ++w)
    if (w != ctx.worker_index() && ctx.worker_up(w)) targets.push_back(w);
  st->waiting = targets.size() + 1;  // + 1 until every call is made
  auto done_one = [](State& s) {
    if (--s.waiting == 0) s.finish(s.reply, s.answers);
  };
  for (uint16_t w : targets) {
    ctx.call_worker(
        w, service, op, body, 0,
        [st, w, done_one](Status status, std::string_view b) {
          st->answers.push_back({w, status, std::string(b)});
          done_one(*st);
        },
        on_behalf);
  }
  done_one(*st);
}

}  // namespace hazel::services
