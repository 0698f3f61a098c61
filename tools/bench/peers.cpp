#include "bench/peers.h"

#include <algorithm>
#include <charconv>
#include <numeric>

namespace hazel_bench {

namespace {

// Worker indices are small; a larger one is a broken HELLO, not a reason to
// size a table by it.
constexpr uint32_t kMaxWorker = 65535;

// The value of the first `key=` line; false if there is none.
bool line_value(std::string_view body, std::string_view key,
                std::string_view* value) {
  size_t at = 0;
  while (at < body.size()) {
    size_t eol = body.find('\n', at);
    if (eol == std::string_view::npos) eol = body.size();
    std::string_view line = body.substr(at, eol - at);
    if (line.size() > key.size() && line.substr(0, key.size()) == key &&
        line[key.size()] == '=') {
      *value = line.substr(key.size() + 1);
      return true;
    }
    at = eol + 1;
  }
  return false;
}

template <typename T>
bool parse_decimal(std::string_view text, T* out) {
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, *out);
  return ec == std::errc() && ptr == end && !text.empty();
}

// Connection indices ordered by worker, stable within a worker.
std::vector<size_t> by_worker(std::span<const uint32_t> workers) {
  std::vector<size_t> order(workers.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return workers[a] < workers[b];
  });
  return order;
}

// Each connection TELLs the next one on its worker, in a ring per worker.
std::vector<size_t> plan_local(std::span<const uint32_t> workers,
                               std::string* why) {
  std::vector<size_t> order = by_worker(workers);
  std::vector<size_t> target(workers.size());
  for (size_t begin = 0; begin < order.size();) {
    size_t end = begin;
    while (end < order.size() && workers[order[end]] == workers[order[begin]])
      ++end;
    if (end - begin == 1) {
      *why = "connection " + std::to_string(order[begin]) +
             " is alone on worker " + std::to_string(workers[order[begin]]) +
             ": --peer local needs two connections on every worker (raise -c)";
      return {};
    }
    for (size_t i = begin; i < end; ++i) {
      target[order[i]] = order[i + 1 < end ? i + 1 : begin];
    }
    begin = end;
  }
  return target;
}

// With the connections in worker order, shifting by the size of the largest
// worker's group always lands on another worker when no worker holds more
// than half of them, and is a permutation: everyone is told exactly once.
// Otherwise those who would land on their own worker TELL, round-robin, a
// connection of another worker instead.
std::vector<size_t> plan_remote(std::span<const uint32_t> workers,
                                std::string* why) {
  const size_t n = workers.size();
  std::vector<size_t> counts = count_per_worker(workers);
  size_t largest = *std::max_element(counts.begin(), counts.end());
  if (largest == n) {
    *why = "--peer remote needs connections on two workers or more, and all " +
           std::to_string(n) + " are on worker " + std::to_string(workers[0]) +
           " (a server with one worker process has no remote peer)";
    return {};
  }
  std::vector<size_t> order = by_worker(workers);
  std::vector<size_t> target(n);
  size_t spare = 0;  // round-robin cursor over `order` for the fallback
  for (size_t i = 0; i < n; ++i) {
    size_t from = order[i];
    size_t to = order[(i + largest) % n];
    while (workers[to] == workers[from]) to = order[spare++ % n];
    target[from] = to;
  }
  return target;
}

}  // namespace

bool parse_hello(std::string_view body, Hello* out, std::string* why) {
  std::string_view client;
  if (!line_value(body, "client", &client) ||
      !parse_decimal(client, &out->client) || out->client == 0) {
    *why = "HELLO reply has no client=<id> line";
    return false;
  }
  std::string_view worker;
  out->worker = 0;
  if (line_value(body, "worker", &worker) &&
      (!parse_decimal(worker, &out->worker) || out->worker > kMaxWorker)) {
    *why = "HELLO reply has a worker= line that is not a worker index";
    return false;
  }
  return true;
}

std::vector<size_t> plan_tells(std::span<const uint32_t> workers, Peer peer,
                               std::string* why) {
  if (workers.size() < 2) {
    *why = "tell needs two connections or more";
    return {};
  }
  return peer == Peer::kLocal ? plan_local(workers, why)
                              : plan_remote(workers, why);
}

std::vector<size_t> count_per_worker(std::span<const uint32_t> workers) {
  std::vector<size_t> counts;
  for (uint32_t w : workers) {
    if (w >= counts.size()) counts.resize(size_t{w} + 1);
    ++counts[w];
  }
  return counts;
}

std::string describe_per_worker(std::span<const size_t> counts) {
  std::string s;
  for (size_t w = 0; w < counts.size(); ++w) {
    if (counts[w] == 0) continue;
    if (!s.empty()) s += ", ";
    s += "worker " + std::to_string(w) + ": " + std::to_string(counts[w]);
  }
  return s;
}

}  // namespace hazel_bench
