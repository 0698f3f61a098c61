// Policies: who may do what. A policy is asked, on the loop, before a
// client's REQUEST or SEND reaches its service, and answers allow or deny
// (with a reason). A denied REQUEST is answered DENIED with the reason; a
// denied SEND is dropped and counted (INFO sends_dropped, denied).
//
//   class NoWritesAtNight : public hazel::Policy {
//    public:
//     hazel::Verdict allow(const hazel::Access& a) override {
//       if (a.service == hazel::kv::kId && a.op != hazel::kv::kGet && night())
//         return hazel::Verdict::deny("kv is read-only at night");
//       return hazel::Verdict::allow();
//     }
//   };
//   NoWritesAtNight policy;
//   daemon.add_policy(policy);          // or ctx().add_policy() in a service
//
// Policies are asked in the order they were added; the first deny wins.
// They see the requests of this worker's own clients only: a request that
// another worker forwards (kv to the key's owner, TELL to the target's
// worker, PUBLISH to the members' workers: Request::from_worker) was
// decided on the client's own worker, and calls between services are not
// client requests.
//
// Authentication: a client presents a token with sys AUTH; each policy's
// authenticate() is asked in turn until one recognises it. The one that
// accepts fills an Identity (the user name, when it expires, and a Grant:
// whatever it wants to remember about what the client may do), which the
// daemon keeps for the client until it disconnects or authenticates again,
// and hands to every allow() as Access::identity. Services see the user
// name as Request::user, HELLO shows it as user=. The built-in token policy
// (./hazel --auth-secret-file) is one such policy.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "hazel/service.h"

namespace hazel {

class Policy;

// What a policy keeps about an authenticated client: subclass it.
class Grant {
 public:
  virtual ~Grant() = default;
};

// What a successful sys AUTH established for one client.
struct Identity {
  std::string user;       // never empty once authenticated
  // Unix seconds (AUTH's expires=); 0 = never. The daemon only reports it:
  // what an expired identity may still do is the policies' decision (the
  // token policy allows PING, HELLO and AUTH, so a client can refresh).
  int64_t expires_s = 0;
  std::unique_ptr<Grant> grant;
  const Policy* issuer = nullptr;  // the policy that accepted it (set by the daemon)
};

// One client request as a policy sees it. Everything is valid only during
// the call.
struct Access {
  ClientId client = 0;
  const Identity* identity = nullptr;  // null until an AUTH succeeded
  uint16_t service = 0;
  uint16_t op = 0;
  std::string_view body;
  bool one_way = false;  // a SEND
  int64_t now_s = 0;     // unix seconds, from the loop's clock

  std::string_view user() const {
    return identity ? std::string_view(identity->user) : std::string_view();
  }
};

// A policy's answer. A deny's reason must stay valid until the policy is
// asked again (a string literal, or text the policy keeps), so that
// deciding allocates nothing. (Two words, returned in registers.)
class Verdict {
 public:
  static Verdict allow() { return Verdict(nullptr, 0); }
  static Verdict deny(std::string_view reason) {
    return Verdict(reason.data() ? reason.data() : "", reason.size());
  }
  bool allowed() const { return reason_ == nullptr; }
  std::string_view reason() const {
    return reason_ ? std::string_view(reason_, size_) : std::string_view();
  }

 private:
  Verdict(const char* reason, size_t size) : reason_(reason), size_(size) {}
  const char* reason_;  // nullptr: allowed
  size_t size_;
};

enum class AuthResult : uint8_t {
  kPass,      // not this policy's kind of token: ask the next one
  kAccepted,  // `who` is filled in
  kRefused,   // `reason` says why (sent to the client: never quote the token)
};

class Policy {
 public:
  virtual ~Policy() = default;
  // Whether the request may reach its service. Runs on the loop for every
  // REQUEST and SEND of a client of this worker: keep it cheap.
  virtual Verdict allow(const Access& access) = 0;
  // sys AUTH with `token` from `client` at unix time `now_s`.
  virtual AuthResult authenticate(ClientId /*client*/, std::string_view /*token*/,
                                  int64_t /*now_s*/, Identity* /*who*/,
                                  std::string* /*reason*/) {
    return AuthResult::kPass;
  }
};

}  // namespace hazel
