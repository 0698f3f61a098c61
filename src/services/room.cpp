// room (service 3): groups with broadcast.
//   1 JOIN     name                          -> u32 member count
//   2 LEAVE    name                          -> empty | NOT_FOUND
//   3 PUBLISH  u8 nlen, name, payload        -> u32 members delivered to
//   4 MEMBERS  name                          -> u64 id per member
//
// Members get PUSH 3/3: u8 nlen, name, u64 publisher id, payload. The PUSH is
// encoded once and the same bytes are queued to every member; a member past
// its output limit is closed as slow without holding up the others.
//
// The service subscribes to DISCONNECT and takes a client out of the rooms
// it joined: the cost is that client's rooms, never all rooms. Empty rooms
// are freed. A membership knows its place in both of its lists (the room's
// members, the client's rooms), so LEAVE and that cleanup take it out of
// each by swap-remove: O(1) per room, however many rooms the client holds.
//
// Caps (--max-rooms-per-client, --max-rooms): a JOIN that would put a
// client in more rooms than it may, or create a room on a worker that holds
// its share of the server's rooms already, answers BUSY and changes nothing.
//
// With several workers a room spans them all, and membership lives where the
// member is: each worker's room service knows only its own clients. JOIN
// and LEAVE are local; PUBLISH delivers to the local members and asks every
// other worker to deliver to theirs (one bus frame per worker, the PUSH
// encoded once there), answering with the sum of the counts; MEMBERS and
// JOIN's count gather every worker's share. A client that disconnects is out
// of its rooms on its own worker at once, hence everywhere.
//
// With --cluster, rooms span nodes through Redis pub/sub: a node listens to
// channel <p>:room:<name> while it has members in that room, and only then.
// PUBLISH delivers to the local members and makes one Redis PUBLISH of the
// PUSH body, which every other node with members delivers to its own (the
// PUSH encoded once per node); one publisher's messages keep their order,
// as they travel one connection to Redis and one from it. Each node keeps
// its member count of a room in the hash <p>:room:<name> (field: the node
// number), and the rooms it has counts in in the set <p>:rooms_of:<node>;
// PUBLISH and JOIN answer the local count plus the counts of the nodes that
// are up, so a node that dies drops out of every count at once, and its
// stale fields are cleared when its number is taken again. MEMBERS asks
// every node that is up, as with workers.
#include <algorithm>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "services/builtin.h"
#include "services/gather.h"
#include "services/string_map.h"

namespace hazel::services {

namespace {

using namespace room;

// Between the room services of the workers only: the local member count.
constexpr uint16_t kCountLocal = 0x8001;

struct Room;

// Where one membership sits: its index in the room's members and in the
// client's rooms.
struct Slot {
  size_t in_room = 0;
  size_t in_client = 0;
};

struct Room {
  std::string name;
  std::vector<ClientId> members;               // dense, for fan-out
  std::unordered_map<ClientId, Slot> slot;     // member -> its places
};

bool valid_name(std::string_view n) { return !n.empty() && n.size() <= kMaxName; }

class RoomService final : public Service {
 public:
  explicit RoomService(const Config& cfg)
      : Service("room", room::kId, kEventDisconnect),
        max_per_client_(cfg.max_rooms_per_client),
        max_rooms_(cfg.max_rooms) {}

  void on_mount() override {
    // Rooms live where their members are: each worker holds its share.
    room_limit_ = std::max<size_t>(1, max_rooms_ / ctx().workers());
    alive_ = std::make_shared<bool>(true);
    cx_ = &ctx();
  }
  void on_unmount() override { *alive_ = false; }

  void on_request(const Request& req, Reply reply) override {
    switch (req.op) {
      case kJoin: join(req, reply); return;
      case kLeave: leave(req, reply); return;
      case kPublish: publish(req, reply); return;
      case kMembers: members(req, reply); return;
      case kCountLocal:
        if (req.from_worker) return count_local(req, reply);
        [[fallthrough]];
      default:
        reply.error(Status::kNoOp, "room has no op " + std::to_string(req.op));
    }
  }

  void on_event(Event ev, ClientId client) override {
    if (ev != Event::kDisconnect) return;
    auto it = joined_.find(client);
    if (it == joined_.end()) return;
    std::vector<Room*> rooms = std::move(it->second);
    joined_.erase(it);
    for (Room* r : rooms) remove_member(*r, client, nullptr);
  }

  void on_info(InfoSink& sink) override {
    sink.add("rooms", static_cast<int64_t>(rooms_.size()));
    sink.add("room_members", static_cast<int64_t>(memberships_));
    sink.add("room_joins_refused", static_cast<int64_t>(joins_refused_));
  }

 private:
  using RoomMap = StringMap<std::unique_ptr<Room>>;

  Room* find(std::string_view name) {
    auto it = rooms_.find(name);
    return it == rooms_.end() ? nullptr : it->second.get();
  }

  static std::string_view u32_body(uint32_t v, uint8_t (&buf)[4]) {
    put_u32(buf, v);
    return {reinterpret_cast<const char*>(buf), 4};
  }

  void join(const Request& req, Reply& reply) {
    if (!valid_name(req.body)) return bad_name(reply);
    Room* r = find(req.body);
    bool created = false;
    if (r == nullptr || r->slot.count(req.client) == 0) {
      auto at = joined_.find(req.client);
      if (at != joined_.end() && at->second.size() >= max_per_client_) {
        ++joins_refused_;
        return reply.error(Status::kBusy,
                           "client is in too many rooms (at most " +
                               std::to_string(max_per_client_) + ")");
      }
      if (r == nullptr) {
        if (rooms_.size() >= room_limit_) {
          ++joins_refused_;
          return reply.error(Status::kBusy,
                             "server holds too many rooms (at most " +
                                 std::to_string(room_limit_) +
                                 " on this worker)");
        }
        auto fresh = std::make_unique<Room>();
        fresh->name = std::string(req.body);
        r = fresh.get();
        rooms_.emplace(r->name, std::move(fresh));
        created = true;
      }
      std::vector<Room*>& mine = joined_[req.client];
      r->slot.emplace(req.client, Slot{r->members.size(), mine.size()});
      r->members.push_back(req.client);
      mine.push_back(r);
      ++memberships_;
      if (ctx().clustered()) state_count(*r, created);
    }
    if (ctx().clustered()) return join_cluster(*r, created, std::move(reply));
    sum_counts(req, reply, kCountLocal, static_cast<uint32_t>(r->members.size()));
  }

  void count_local(const Request& req, Reply& reply) {
    Room* r = valid_name(req.body) ? find(req.body) : nullptr;
    uint8_t buf[4];
    reply.ok(u32_body(r ? static_cast<uint32_t>(r->members.size()) : 0, buf));
  }

  // Answers `local` plus the u32 counts every other worker answers to `op`
  // (the same body), unless this request came from a worker.
  void sum_counts(const Request& req, Reply& reply, uint16_t op,
                  uint32_t local) {
    if (ctx().peers() <= 1 || req.from_worker) {
      uint8_t buf[4];
      reply.ok(u32_body(local, buf));
      return;
    }
    // PUBLISH's deliveries on the other workers count against the
    // publisher's rate too.
    ClientId payer = op == kPublish ? req.client : 0;
    ask_other_workers(
        ctx(), room::kId, op, req.body, req.client, std::move(reply),
        [local, payer, &cx = ctx()](Reply& r, std::vector<WorkerAnswer>& answers) {
          uint32_t total = local;
          for (WorkerAnswer& a : answers) {
            if (a.status == Status::kTimeout)
              return r.error(Status::kTimeout, "worker " +
                                                   std::to_string(a.worker) +
                                                   " did not answer in time");
            // A worker that is gone has no members any more.
            if (a.status == Status::kOk && a.body.size() == 4)
              total += get_u32(reinterpret_cast<const uint8_t*>(a.body.data()));
          }
          if (payer != 0) cx.charge(payer, total - local);
          uint8_t buf[4];
          r.ok(u32_body(total, buf));
        });
  }

  void leave(const Request& req, Reply& reply) {
    if (!valid_name(req.body)) return bad_name(reply);
    Room* r = find(req.body);
    if (r == nullptr || r->slot.count(req.client) == 0)
      return reply.error(Status::kNotFound, "not a member of that room");
    auto it = joined_.find(req.client);
    remove_member(*r, req.client, it != joined_.end() ? &it->second : nullptr);
    if (it != joined_.end() && it->second.empty()) joined_.erase(it);
    reply.ok();
  }

  void publish(const Request& req, Reply& reply) {
    auto* p = reinterpret_cast<const uint8_t*>(req.body.data());
    if (req.body.empty() || req.body.size() < 1u + p[0] || p[0] == 0)
      return reply.error(Status::kBadRequest,
                         "PUBLISH needs u8 name length, name (1..255), payload");
    size_t nlen = p[0];
    std::string_view name = req.body.substr(1, nlen);
    std::string_view payload = req.body.substr(1 + nlen);
    // PUSH body: u8 nlen, name, u64 publisher, payload.
    size_t push_len = 1 + nlen + 8 + payload.size();
    if (push_len > ctx().max_frame())
      return reply.error(Status::kTooLarge, "the PUSH would exceed max_frame");
    uint32_t delivered = 0;
    head_.assign(req.body.substr(0, 1 + nlen));
    head_.resize(1 + nlen + 8);
    put_u64(reinterpret_cast<uint8_t*>(head_.data()) + 1 + nlen, req.client);
    if (Room* r = find(name)) {
      // A slow member closed here leaves the room once this request is
      // done (DISCONNECT is delivered after the handler returns), so the
      // member list is stable while we walk it.
      delivered = static_cast<uint32_t>(ctx().push_many(
          r->members.data(), r->members.size(), room::kId, kPublish, head_,
          payload));
      // Fan-out is paid by the publisher (its rate limit, if any).
      if (!req.from_worker) ctx().charge(req.client, delivered);
    }
    if (ctx().clustered()) return publish_cluster(req.client, name, payload, delivered,
                                                  std::move(reply));
    sum_counts(req, reply, kPublish, delivered);
  }

  void members(const Request& req, Reply& reply) {
    if (!valid_name(req.body)) return bad_name(reply);
    std::string out;
    if (Room* r = find(req.body)) {
      out.resize(r->members.size() * 8);
      auto* w = reinterpret_cast<uint8_t*>(out.data());
      for (size_t i = 0; i < r->members.size(); ++i)
        put_u64(w + 8 * i, r->members[i]);
    }
    if (ctx().peers() <= 1 || req.from_worker) return reply.ok(out);
    ask_other_workers(
        ctx(), room::kId, kMembers, req.body, req.client, std::move(reply),
        [out = std::move(out), max = ctx().max_frame()](
            Reply& r, std::vector<WorkerAnswer>& answers) mutable {
          for (WorkerAnswer& a : answers) {
            if (a.status == Status::kTimeout)
              return r.error(Status::kTimeout, "worker " +
                                                   std::to_string(a.worker) +
                                                   " did not answer in time");
            if (a.status == Status::kOk) out += a.body;
          }
          if (out.size() > max)
            return r.error(Status::kTooLarge, "the member list exceeds max_frame");
          r.ok(out);
        });
  }

  // Takes `client` out of `r` (freeing r if it empties) and, given the
  // client's room list, out of that too: swap-remove on both sides, each
  // moved membership told its new place.
  void remove_member(Room& r, ClientId client, std::vector<Room*>* mine) {
    auto it = r.slot.find(client);
    if (it == r.slot.end()) return;
    const Slot at = it->second;
    r.slot.erase(it);
    ClientId last = r.members.back();
    r.members[at.in_room] = last;
    r.members.pop_back();
    if (last != client) r.slot.find(last)->second.in_room = at.in_room;
    if (mine != nullptr) {
      Room* moved = mine->back();
      (*mine)[at.in_client] = moved;
      mine->pop_back();
      if (moved != &r) moved->slot.find(client)->second.in_client = at.in_client;
    }
    --memberships_;
    if (ctx().clustered()) state_count(r, false);
    if (r.members.empty()) rooms_.erase(rooms_.find(r.name));  // frees r
  }

  // ---- --cluster ---------------------------------------------------------

  static std::string channel_of(std::string_view room) {
    return "room:" + std::string(room);
  }
  std::string count_key(std::string_view room) const {
    return cx_->cluster_key(channel_of(room));
  }
  std::string rooms_of_key() const {
    return cx_->cluster_key("rooms_of:" + std::to_string(cx_->worker_index()));
  }
  static void ignore(Status, const RedisReply&) {}

  // Writes this node's member count of `r` to Redis (removing it, and the
  // channel, when the room is empty here); `created`: the room is new here.
  void state_count(const Room& r, bool created) {
    std::string node = std::to_string(ctx().worker_index());
    std::string key = count_key(r.name);
    if (r.members.empty()) {
      ctx().redis({"HDEL", key, node}, ignore);
      ctx().redis({"SREM", rooms_of_key(), r.name}, ignore);
      ctx().unlisten(channel_of(r.name));
      return;
    }
    ctx().redis({"HSET", key, node, std::to_string(r.members.size())}, ignore);
    if (created) ctx().redis({"SADD", rooms_of_key(), r.name}, ignore);
  }

  // The members of the other nodes that are up, from an HGETALL of a
  // room's counts.
  static uint32_t remote_count(const Context& cx, Status st, const RedisReply& v) {
    if (st != Status::kOk || v.kind != RedisReply::Kind::kArray) return 0;
    uint64_t total = 0;
    for (int64_t i = 0; i + 1 < v.integer; i += 2) {
      uint64_t node = 0;
      uint64_t n = 0;
      if (!to_u64(v.elements[i].str, &node) || !to_u64(v.elements[i + 1].str, &n))
        continue;
      if (node != cx.worker_index() && node < cx.peers() &&
          cx.worker_up(static_cast<uint16_t>(node)))
        total += n;
    }
    return static_cast<uint32_t>(std::min<uint64_t>(total, UINT32_MAX));
  }

  static bool to_u64(std::string_view s, uint64_t* out) {
    if (s.empty() || s.size() > 19) return false;
    uint64_t v = 0;
    for (char c : s) {
      if (c < '0' || c > '9') return false;
      v = v * 10 + static_cast<uint64_t>(c - '0');
    }
    *out = v;
    return true;
  }

  // JOIN's answer: once this node receives the room (a room new here is
  // listened to first), the local count plus every other node's.
  void join_cluster(const Room& r, bool created, Reply reply) {
    auto answer = [alive = alive_, cx = cx_, key = count_key(r.name),
                   local = static_cast<uint32_t>(r.members.size()),
                   reply = std::move(reply)](Status, std::string_view) mutable {
      if (!*alive) return;
      cx->redis({"HGETALL", key}, [alive, cx, local, reply = std::move(reply)](
                                      Status st, const RedisReply& v) mutable {
        uint8_t buf[4];
        reply.ok(u32_body(local + (*alive ? remote_count(*cx, st, v) : 0), buf));
      });
    };
    if (created) return ctx().listen(channel_of(r.name), std::move(answer));
    answer(Status::kOk, {});
  }

  // PUBLISH's second half: one Redis PUBLISH reaches every other node with
  // members, and the answer counts them.
  void publish_cluster(ClientId publisher, std::string_view name,
                       std::string_view payload, uint32_t delivered, Reply reply) {
    uint8_t buf[4];
    if (!ctx().publish(channel_of(name), head_, payload))
      return reply.ok(u32_body(delivered, buf));
    ctx().redis({"HGETALL", count_key(name)},
                [alive = alive_, cx = cx_, publisher, delivered,
                 reply = std::move(reply)](Status st, const RedisReply& v) mutable {
                  uint32_t remote = *alive ? remote_count(*cx, st, v) : 0;
                  if (*alive) cx->charge(publisher, remote);
                  uint8_t b[4];
                  reply.ok(u32_body(delivered + remote, b));
                });
  }

  // What another node published to a room this node has members in.
  void on_channel(std::string_view channel, uint16_t, std::string_view msg) override {
    auto* p = reinterpret_cast<const uint8_t*>(msg.data());
    if (msg.empty() || p[0] == 0 || msg.size() < 1u + p[0] + 8) return;
    std::string_view name = msg.substr(1, p[0]);
    if (channel.substr(0, 5) != "room:" || channel.substr(5) != name) return;
    if (Room* r = find(name))
      ctx().push_many(r->members.data(), r->members.size(), room::kId, kPublish, msg);
  }

  // Redis is (back) up, perhaps empty: this node's counts are written
  // again, and fields a previous holder of its number left are cleared.
  void on_cluster_up() override {
    ctx().redis({"SMEMBERS", rooms_of_key()},
                [alive = alive_, this](Status st, const RedisReply& v) {
                  if (!*alive || st != Status::kOk || v.kind != RedisReply::Kind::kArray)
                    return;
                  std::string node = std::to_string(ctx().worker_index());
                  for (int64_t i = 0; i < v.integer; ++i) {
                    std::string_view name = v.elements[i].str;
                    if (find(name) != nullptr) continue;
                    ctx().redis({"HDEL", count_key(name), node}, ignore);
                    ctx().redis({"SREM", rooms_of_key(), name}, ignore);
                  }
                });
    for (const auto& [name, r] : rooms_) state_count(*r, true);
  }

  void bad_name(Reply& reply) {
    reply.error(Status::kBadRequest, "room name must be 1..255 bytes");
  }

  const uint32_t max_per_client_;  // --max-rooms-per-client
  const uint32_t max_rooms_;       // --max-rooms, for the whole server
  size_t room_limit_ = 0;          // this worker's share of max_rooms_
  RoomMap rooms_;
  std::unordered_map<ClientId, std::vector<Room*>> joined_;  // client's rooms
  size_t memberships_ = 0;
  uint64_t joins_refused_ = 0;
  std::string head_;  // reused PUSH body head
  // Callbacks from Redis may come after unmount: they check this first.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  Context* cx_ = nullptr;
};

}  // namespace

std::unique_ptr<Service> make_room(const Config& cfg) {
  return std::make_unique<RoomService>(cfg);
}

}  // namespace hazel::services
