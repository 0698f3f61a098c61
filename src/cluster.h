// Cluster: hazel nodes on many hosts joined through one Redis (--cluster).
// Every worker process is a node. A node has a number (0..kMaxWorkers-1)
// that takes the worker's place in the client ids it hands out, so the
// message module's route(id) names the node of any client, and what
// crosses between workers of one host with -w N (TELL, pushes, kicks,
// room fan-out and counts, INFO) crosses between nodes the same way: the
// bus frames of src/bus, carried by Redis pub/sub instead of a socketpair.
//
//   node 3 ──PUBLISH hazel:to:7 <u16 3><bus frame>──► Redis ──► node 7
//                                                     (subscribed to
//                                                      hazel:to:7)
//
// Keys (all under --cluster-prefix, "hazel" by default):
//   <p>:node_seq    INCR: where node numbers and incarnations come from
//   <p>:node:<n>    a node's heartbeat: its token, PX 3 heartbeats
//   <p>:nodes       SET of node numbers that may be alive
//   <p>:kv:<key>    the kv service's keys
// Channels: <p>:to:<n>, the frames for node n; and what services listen
// to (Context::listen): the room service's <p>:room:<name>, say, to which
// a node subscribes only while it has members in that room.
//
// Two connections: one for commands (heartbeat, PUBLISH, kv) and one that
// only subscribes. A node counts as up while its heartbeat key exists and
// its channel has a subscriber (PUBSUB NUMSUB: a node killed with -9 loses
// its subscription the moment its socket closes), polled every heartbeat;
// a PUBLISH to a node that nobody receives marks it down at once.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "bus.h"
#include "hazel/config.h"
#include "loop.h"
#include "redis.h"

namespace hazel {

// Where the cluster reports (the daemon's core).
class ClusterSink {
 public:
  // This node has its number and receives its channel: it may serve.
  virtual void on_cluster_joined() = 0;
  // Another node's number was found in use by someone else: this node
  // must stop (its ids would not be unique).
  virtual void on_cluster_conflict() = 0;
  // A bus frame from node `from` (header and body, checked by the bus).
  virtual void on_cluster_frame(uint16_t from, const uint8_t* frame,
                                size_t n) = 0;
  virtual void on_node(uint16_t node, bool up) = 0;
  // Registered and subscribed again after Redis was lost (and the first
  // time): what services keep in Redis about this node, they state again.
  virtual void on_cluster_up() = 0;
  // A message node `from` published on `channel` (the full name), which
  // `service` listens to.
  virtual void on_cluster_message(uint16_t service, std::string_view channel,
                                  uint16_t from, std::string_view message) = 0;

 protected:
  ~ClusterSink() = default;
};

struct ClusterStats {
  uint64_t dropped = 0;    // for other nodes, not sent: node or Redis down, or full
  uint64_t frames_in = 0;
  uint64_t frames_out = 0;
  uint64_t ignored = 0;    // messages on our channels not from a hazel node
};

class Cluster final : public Redis::Observer, public BusRemote {
 public:
  Cluster(Loop& loop, const Config& cfg, ClusterSink& sink);
  ~Cluster();
  Cluster(const Cluster&) = delete;
  Cluster& operator=(const Cluster&) = delete;

  bool start(std::string* err);
  void stop();

  bool joined() const { return node_ != kNoNode; }
  uint16_t node() const { return static_cast<uint16_t>(node_); }
  uint32_t incarnation() const { return incarnation_; }
  // Redis reachable (both connections) and this node registered.
  bool connected() const { return cmd_.up() && sub_.up() && subscribed_; }
  // Nodes up, this one included.
  uint16_t nodes() const { return static_cast<uint16_t>(peers_up_ + 1); }

  // BusRemote: other nodes as bus peers.
  bool peer_up(uint16_t peer) const override;
  uint16_t peers_up() const override { return peers_up_; }
  bool send_frame(uint16_t peer, std::string_view header, std::string_view a,
                  std::string_view b, std::string_view c) override;

  // Services' channels (Context::listen/publish), by full name. listen()
  // subscribes now if it can: `done(true)` once Redis confirms, false at
  // once when Redis is not reachable. Either way the channel stays listened
  // to, and is subscribed again whenever the subscriber reconnects.
  void listen(uint16_t service, std::string_view channel,
              UniqueFunction<void(bool)> done);
  void unlisten(std::string_view channel);
  void unlisten_service(uint16_t service);
  // PUBLISH of `a`+`b` after this node's number; false (counted dropped)
  // when Redis is not reachable or its output is full.
  bool publish(std::string_view channel, std::string_view a, std::string_view b);

  // The command connection, for kv; `key(name)` is "<prefix>:<name>".
  Redis& commands() { return cmd_; }
  std::string key(std::string_view name) const { return prefix_ + name_sep(name); }

  void end_turn();
  const ClusterStats& stats() const { return stats_; }
  // A request for another node that could not be sent (it is down, or
  // Redis is): counted with the frames dropped.
  void count_dropped() { ++stats_.dropped; }

  // Redis::Observer.
  void on_redis_up(Redis& r) override;
  void on_redis_down(Redis& r, std::string_view why) override;
  void on_redis_message(Redis& r, std::string_view channel,
                        std::string_view payload) override;

 private:
  static constexpr int32_t kNoNode = -1;
  static std::string name_sep(std::string_view name) {
    return ":" + std::string(name);
  }
  std::string node_key(uint32_t n) const { return key("node:" + std::to_string(n)); }
  std::string channel(uint32_t n) const { return key("to:" + std::to_string(n)); }

  void claim();
  void subscribe();
  bool send_subscribe(const std::string& channel, UniqueFunction<void(bool)> done);
  void put_payload(std::string_view a, std::string_view b, std::string_view c,
                   std::string_view d);
  void heartbeat();
  void poll(std::vector<uint32_t> members);
  void set_up(uint16_t node, bool up);
  void all_down();
  void maybe_joined();
  static void on_beat(TimerNode* n);
  void ignored(std::string_view channel);

  Loop& loop_;
  const Config& cfg_;
  ClusterSink& sink_;
  std::string prefix_;
  RedisAddress addr_;
  Redis cmd_;
  Redis sub_;
  int32_t node_ = kNoNode;
  uint32_t incarnation_ = 0;
  std::string token_;
  bool claiming_ = false;
  bool subscribed_ = false;
  bool subscribing_ = false;
  bool announced_ = false;  // on_cluster_joined was called
  bool polling_ = false;
  bool retaken_ = false;     // this beat's SET NX took the key afresh
  bool logged_up_ = false;
  std::vector<uint8_t> up_;  // by node number
  uint16_t peers_up_ = 0;
  std::string payload_;      // one outgoing frame, reused
  std::unordered_map<std::string, uint16_t> channels_;  // listened: service
  std::string lookup_;       // a channel name being looked up, reused
  TimerNode beat_;
  ClusterStats stats_;
};

}  // namespace hazel
