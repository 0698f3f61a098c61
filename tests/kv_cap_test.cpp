// kv's memory cap over real sockets (--kv-max-bytes, --kv-evict): what
// kv_bytes counts, the BUSY a client gets when kv is full, what always
// works, LRU eviction, and that the other clients are unharmed.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "kv_room_util.h"
#include "net_util.h"
#include "proc_util.h"
#include "test_server.h"

using namespace hazel;
using namespace hazel::test;
using namespace hazel::test::kvroom;

namespace {

// What one key costs as PROTOCOL.md's notes count it.
constexpr int64_t cost(size_t key, size_t value) {
  return static_cast<int64_t>(key + value + kv::kKeyOverhead);
}

// Keys of one size, so every key costs the same.
std::string key_n(const char* prefix, int i) {
  char buf[16];
  snprintf(buf, sizeof buf, "%s%03d", prefix, i);
  return buf;
}

constexpr size_t kKeyLen = 4;     // key_n("k", i)
constexpr size_t kValueLen = 20;
constexpr int64_t kCost = cost(kKeyLen, kValueLen);

Frame kv_set(BlockingClient& c, std::string_view key, std::string_view value,
             uint32_t ttl_ms = 0) {
  return call(c, kKv, kSet, set_body(key, ttl_ms, value));
}

void expect_kv_full(const Frame& f) {
  expect_status(f, Status::kBusy);
  EXPECT_EQ(f.body, "kv is full");
}

class KvCap : public ::testing::Test {
 protected:
  // A server whose kv holds exactly `keys` keys of kCost bytes.
  void start(int keys, KvEvict evict = KvEvict::kOff) {
    Config cfg = test_config();
    cfg.kv_max_bytes = static_cast<uint64_t>(keys * kCost);
    cfg.kv_evict = evict;
    server_ = std::make_unique<TestServer>(cfg);
    server_->start();
  }
  std::unique_ptr<BlockingClient> connect() { return server_->connect(); }

  // SETs key_n(prefix, 0..n-1) with kValueLen-byte values; each must be OK.
  void fill(BlockingClient& c, const char* prefix, int n) {
    for (int i = 0; i < n; ++i) {
      Frame f = kv_set(c, key_n(prefix, i), std::string(kValueLen, 'v'));
      ASSERT_TRUE(f.ok()) << key_n(prefix, i) << ": status " << f.header.code
                          << " " << f.body;
    }
  }

  std::unique_ptr<TestServer> server_;
};

}  // namespace

TEST(KvBytes, CountsKeysValuesAndTheOverheadOfEachKey) {
  TestServer s;
  s.start();
  auto c = s.connect();
  EXPECT_EQ(info_value(*c, "kv_bytes"), 0);
  ASSERT_TRUE(kv_set(*c, "ab", "xyz").ok());
  EXPECT_EQ(info_value(*c, "kv_bytes"), cost(2, 3));
  ASSERT_TRUE(call(*c, kKv, kIncr, incr_body("counter", 100)).ok());
  EXPECT_EQ(info_value(*c, "kv_bytes"), cost(2, 3) + cost(7, 3));
  ASSERT_TRUE(kv_set(*c, "ab", "").ok());
  EXPECT_EQ(info_value(*c, "kv_bytes"), cost(2, 0) + cost(7, 3));
  ASSERT_TRUE(call(*c, kKv, kDel, "counter").ok());
  EXPECT_EQ(info_value(*c, "kv_bytes"), cost(2, 0));
}

TEST_F(KvCap, SetPastTheLimitIsBusyKvIsFullAndOtherClientsAreUnharmed) {
  start(3);
  auto greedy = connect();
  fill(*greedy, "k", 3);
  expect_kv_full(kv_set(*greedy, "k003", std::string(kValueLen, 'v')));
  EXPECT_TRUE(ping_ok(*greedy)) << "connection unusable after BUSY";
  // Nothing was stored for it, and the store is exactly at its limit.
  auto other = connect();
  expect_status(call(*other, kKv, kGet, "k003"), Status::kNotFound);
  EXPECT_EQ(info_value(*other, "kv_bytes"), 3 * kCost);
  EXPECT_EQ(info_value(*other, "kv_keys"), 3);
  EXPECT_EQ(info_value(*other, "kv_refused"), 1);
  EXPECT_EQ(info_value(*other, "kv_evicted"), 0);
  // Another client reads what is there, and frees room with a DEL.
  Frame g = call(*other, kKv, kGet, "k001");
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(g.body, std::string(kValueLen, 'v'));
  ASSERT_TRUE(call(*other, kKv, kDel, "k001").ok());
  EXPECT_TRUE(kv_set(*other, "k003", std::string(kValueLen, 'v')).ok());
}

TEST_F(KvCap, SetThatGrowsAValuePastTheLimitIsBusyAndKeepsTheOldValue) {
  start(2);
  auto c = connect();
  fill(*c, "k", 2);
  expect_kv_full(kv_set(*c, "k000", std::string(kValueLen + 1, 'w')));
  Frame g = call(*c, kKv, kGet, "k000");
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(g.body, std::string(kValueLen, 'v'));
}

TEST_F(KvCap, SetThatShrinksOrKeepsTheSizeWorksWhenFull) {
  start(2);
  auto c = connect();
  fill(*c, "k", 2);
  EXPECT_TRUE(kv_set(*c, "k000", std::string(kValueLen, 's')).ok());
  EXPECT_TRUE(kv_set(*c, "k001", "short").ok());
  EXPECT_EQ(info_value(*c, "kv_bytes"),
            kCost + cost(kKeyLen, 5));
  EXPECT_EQ(info_value(*c, "kv_refused"), 0);
}

TEST_F(KvCap, GetAndDelAlwaysWorkWhenFull) {
  start(2);
  auto c = connect();
  fill(*c, "k", 2);
  expect_kv_full(kv_set(*c, "k002", std::string(kValueLen, 'v')));
  EXPECT_TRUE(call(*c, kKv, kGet, "k000").ok());
  expect_status(call(*c, kKv, kGet, "absent"), Status::kNotFound);
  Frame d = call(*c, kKv, kDel, "k000");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d.body, u8_bytes(1));
  EXPECT_EQ(info_value(*c, "kv_bytes"), kCost);
}

TEST_F(KvCap, IncrThatWouldGrowTheStoreIsBusyWhenFull) {
  // Room for exactly one 7-byte counter holding "9" and nothing more.
  Config cfg = test_config();
  cfg.kv_max_bytes = static_cast<uint64_t>(cost(7, 1));
  server_ = std::make_unique<TestServer>(cfg);
  server_->start();
  auto c = connect();
  ASSERT_TRUE(call(*c, kKv, kIncr, incr_body("counter", 8)).ok());
  // 8 -> 9 keeps the size: it works.
  Frame same = call(*c, kKv, kIncr, incr_body("counter", 1));
  ASSERT_TRUE(same.ok());
  EXPECT_EQ(same.body, "9");
  // 9 -> 10 needs one more byte, and a new key a whole entry.
  expect_kv_full(call(*c, kKv, kIncr, incr_body("counter", 1)));
  expect_kv_full(call(*c, kKv, kIncr, incr_body("other", 1)));
  // 9 -> 1 shrinks: it works.
  Frame shrink = call(*c, kKv, kIncr, incr_body("counter", -8));
  ASSERT_TRUE(shrink.ok());
  EXPECT_EQ(shrink.body, "1");
  EXPECT_EQ(info_value(*c, "kv_refused"), 2);
}

TEST_F(KvCap, ExpiredKeysMakeRoomBeforeASetIsRefused) {
  start(2);
  auto c = connect();
  fill(*c, "k", 1);
  ASSERT_TRUE(kv_set(*c, "k001", std::string(kValueLen, 'v'), 50).ok());
  // The server read its clock before it answered, so once 50 ms (and 2 for
  // its whole-ms clock) have passed since the answer, the key has expired
  // by the server's clock too; it gives its room to a new one.
  const auto answered = SteadyClock::now();
  while (elapsed_ms(answered) < 52) std::this_thread::sleep_for(Ms(5));
  EXPECT_TRUE(kv_set(*c, "k002", std::string(kValueLen, 'v')).ok());
  EXPECT_EQ(info_value(*c, "kv_bytes"), 2 * kCost);
}

TEST_F(KvCap, ValueLargerThanTheWholeLimitIsBusyAndEvictsNothing) {
  start(3, KvEvict::kLru);
  auto c = connect();
  fill(*c, "k", 3);
  expect_kv_full(kv_set(*c, "huge", std::string(4 * kCost, 'h')));
  EXPECT_EQ(info_value(*c, "kv_keys"), 3);
  EXPECT_EQ(info_value(*c, "kv_evicted"), 0);
}

TEST_F(KvCap, LruEvictsTheLeastRecentlyUsedKeysUntilASetFits) {
  constexpr int kKeys = 100;
  constexpr int kHot = 10;
  constexpr int kNew = 30;
  start(kKeys, KvEvict::kLru);
  auto c = connect();
  fill(*c, "k", kKeys);
  // The LRU clock is the server's loop clock in ms: let it move on, so the
  // reads below are strictly more recent than every write above.
  std::this_thread::sleep_for(Ms(3));
  for (int i = 0; i < kHot; ++i)
    ASSERT_TRUE(call(*c, kKv, kGet, key_n("k", i * 7)).ok());
  std::this_thread::sleep_for(Ms(3));
  auto other = connect();
  fill(*other, "n", kNew);
  // Each new key took the room of exactly one old one.
  EXPECT_EQ(info_value(*c, "kv_evicted"), kNew);
  EXPECT_EQ(info_value(*c, "kv_keys"), kKeys);
  EXPECT_EQ(info_value(*c, "kv_bytes"), kKeys * kCost);
  EXPECT_EQ(info_value(*c, "kv_refused"), 0);
  // The recently read keys and the new ones are all there.
  for (int i = 0; i < kHot; ++i)
    EXPECT_TRUE(call(*c, kKv, kGet, key_n("k", i * 7)).ok())
        << key_n("k", i * 7) << " was read recently but evicted";
  for (int i = 0; i < kNew; ++i)
    EXPECT_TRUE(call(*c, kKv, kGet, key_n("n", i)).ok()) << key_n("n", i);
}

TEST_F(KvCap, LruEvictsForAnIncrThatCreatesAKey) {
  start(2, KvEvict::kLru);
  auto c = connect();
  fill(*c, "k", 2);
  Frame f = call(*c, kKv, kIncr, incr_body("counter", 1));
  ASSERT_TRUE(f.ok()) << f.body;
  EXPECT_EQ(f.body, "1");
  EXPECT_GE(info_value(*c, "kv_evicted"), 1);
  EXPECT_LE(info_value(*c, "kv_bytes"), 2 * kCost);
}

TEST_F(KvCap, LruNeverEvictsTheKeyBeingSet) {
  start(2, KvEvict::kLru);
  auto c = connect();
  fill(*c, "k", 2);
  // Growing k000 by 10 bytes must evict k001, never k000 itself.
  ASSERT_TRUE(kv_set(*c, "k000", std::string(kValueLen + 10, 'g')).ok());
  Frame g = call(*c, kKv, kGet, "k000");
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(g.body, std::string(kValueLen + 10, 'g'));
  expect_status(call(*c, kKv, kGet, "k001"), Status::kNotFound);
  EXPECT_EQ(info_value(*c, "kv_evicted"), 1);
}

TEST(KvCapWorkers, EachWorkerHoldsItsShareOfTheLimit) {
  REQUIRE_BINARY();
  // Room for 4 keys server-wide: each of two workers holds 2 of the keys
  // it owns, whichever worker the client is on.
  uint16_t port = 0;
  auto p = start_server(&port, "error", 0,
                        {"-w", "2", "--kv-max-bytes", std::to_string(4 * kCost)});
  ASSERT_NE(p, nullptr);
  BlockingClient c;
  std::string err;
  ASSERT_TRUE(c.connect("127.0.0.1", port, &err)) << err;
  std::vector<std::string> shard[2];
  for (int i = 0; shard[0].size() < 3 || shard[1].size() < 3; ++i)
    shard[shard_of(key_n("k", i), 2)].push_back(key_n("k", i));
  for (auto& keys : shard) {
    EXPECT_TRUE(kv_set(c, keys[0], std::string(kValueLen, 'v')).ok());
    EXPECT_TRUE(kv_set(c, keys[1], std::string(kValueLen, 'v')).ok());
    expect_kv_full(kv_set(c, keys[2], std::string(kValueLen, 'v')));
  }
  EXPECT_EQ(info_value(c, "kv_bytes"), 4 * kCost);
  EXPECT_EQ(info_value(c, "kv_refused"), 2);
}
