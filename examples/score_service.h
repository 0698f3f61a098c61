// score: a per-player counter kept in the shared kv store.
//
// ADD (op 1), body = player name -> the player's new total, as decimal text.
// The service holds no data itself: it calls kv INCR through the daemon
// (a session with a deadline) and answers the client when kv has answered.
// If kv does not answer within `kv_timeout_ms`, the client gets TIMEOUT.
#pragma once

#include <string>

#include "hazel/builtins.h"
#include "hazel/service.h"

class ScoreService : public hazel::Service {
 public:
  static constexpr uint16_t kId = 100;
  static constexpr uint16_t kAdd = 1;

  explicit ScoreService(uint32_t kv_timeout_ms = 500)
      : Service("score", kId), kv_timeout_ms_(kv_timeout_ms) {}

  void on_request(const hazel::Request& req, hazel::Reply reply) override {
    if (req.op != kAdd)
      return reply.error(hazel::Status::kNoOp, "score only has ADD (1)");
    if (req.body.empty() || req.body.size() > 500)
      return reply.error(hazel::Status::kBadRequest, "player name: 1..500 bytes");

    // kv INCR: u16 key length, key, i64 delta.
    std::string key = "score:" + std::string(req.body);
    std::string incr;
    hazel::append_u16(incr, static_cast<uint16_t>(key.size()));
    incr += key;
    hazel::append_u64(incr, 1);

    // The reply handle moves into the callback: we answer asynchronously.
    ctx().call(hazel::kv::kId, hazel::kv::kIncr, incr, kv_timeout_ms_,
               [reply = std::move(reply)](hazel::Status st,
                                          std::string_view result) mutable {
                 if (st == hazel::Status::kOk) return reply.ok(result);
                 // TIMEOUT, UNAVAILABLE, BUSY: tell the client as it is.
                 reply.error(st, "kv: " + std::string(result));
               });
  }

 private:
  uint32_t kv_timeout_ms_;
};
