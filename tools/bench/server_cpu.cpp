#include "bench/server_cpu.h"

#include <dirent.h>
#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>

namespace hazel_bench {

namespace {

// Whole small file (/proc files report size 0, so read until EOF).
bool read_file(const std::string& path, std::string* out) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  out->clear();
  char buf[4096];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      close(fd);
      return n == 0;
    }
    out->append(buf, static_cast<size_t>(n));
  }
}

std::vector<pid_t> numeric_entries(const std::string& dir) {
  std::vector<pid_t> out;
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return out;
  while (dirent* e = readdir(d)) {
    pid_t v = 0;
    const char* end = e->d_name + std::strlen(e->d_name);
    auto [ptr, ec] = std::from_chars(e->d_name, end, v);
    if (ec == std::errc() && ptr == end) out.push_back(v);
  }
  closedir(d);
  return out;
}

std::string proc_path(pid_t pid) { return "/proc/" + std::to_string(pid); }

// Children of every thread of `pid`, from the kernel's children lists. False
// if the kernel keeps no such lists (built without CONFIG_PROC_CHILDREN).
bool children_from_lists(pid_t pid, std::vector<pid_t>* out) {
  std::string text;
  bool any = false;
  for (pid_t tid : numeric_entries(proc_path(pid) + "/task")) {
    std::string path =
        proc_path(pid) + "/task/" + std::to_string(tid) + "/children";
    if (!read_file(path, &text)) continue;
    any = true;
    for (pid_t child : parse_pid_list(text)) out->push_back(child);
  }
  return any;
}

// Every process whose parent is `pid`, by reading every /proc/<n>/stat.
void children_from_scan(pid_t pid, std::vector<pid_t>* out) {
  std::string text;
  for (pid_t p : numeric_entries("/proc")) {
    if (!read_file(proc_path(p) + "/stat", &text)) continue;
    std::optional<ProcStat> st = parse_proc_stat(text);
    if (st && st->ppid == pid) out->push_back(p);
  }
}

// CPU seconds of one process; nullopt if it is gone.
std::optional<double> process_cpu(pid_t pid) {
  clockid_t clock{};
  timespec ts{};
  if (clock_getcpuclockid(pid, &clock) == 0 &&
      clock_gettime(clock, &ts) == 0) {
    return static_cast<double>(ts.tv_sec) +
           static_cast<double>(ts.tv_nsec) / 1e9;
  }
  std::string text;
  if (!read_file(proc_path(pid) + "/stat", &text)) return std::nullopt;
  std::optional<ProcStat> st = parse_proc_stat(text);
  if (!st) return std::nullopt;
  static const long ticks_per_s = sysconf(_SC_CLK_TCK);
  return static_cast<double>(st->utime_ticks + st->stime_ticks) /
         static_cast<double>(ticks_per_s > 0 ? ticks_per_s : 100);
}

}  // namespace

std::optional<ProcStat> parse_proc_stat(std::string_view text) {
  // pid (comm) state ppid pgrp session tty_nr tpgid flags minflt cminflt
  // majflt cmajflt utime stime ... (proc(5)): after the ')', ppid is token 1,
  // utime token 11 and stime token 12. Other tokens may be negative.
  constexpr size_t kPpid = 1, kUtime = 11, kStime = 12;
  size_t paren = text.rfind(')');
  if (paren == std::string_view::npos) return std::nullopt;
  std::string_view rest = text.substr(paren + 1);
  ProcStat st;
  size_t at = 0;
  for (size_t token = 0; token <= kStime; ++token) {
    while (at < rest.size() && rest[at] == ' ') ++at;
    size_t end = rest.find_first_of(" \n", at);
    if (end == std::string_view::npos) end = rest.size();
    if (end == at) return std::nullopt;
    uint64_t* field = token == kUtime   ? &st.utime_ticks
                      : token == kStime ? &st.stime_ticks
                                        : nullptr;
    const char* first = rest.data() + at;
    const char* last = rest.data() + end;
    if (token == kPpid) {
      auto [ptr, ec] = std::from_chars(first, last, st.ppid);
      if (ec != std::errc() || ptr != last) return std::nullopt;
    } else if (field != nullptr) {
      auto [ptr, ec] = std::from_chars(first, last, *field);
      if (ec != std::errc() || ptr != last) return std::nullopt;
    }
    at = end;
  }
  return st;
}

std::vector<pid_t> parse_pid_list(std::string_view text) {
  std::vector<pid_t> out;
  size_t at = 0;
  while (at < text.size()) {
    while (at < text.size() && (text[at] == ' ' || text[at] == '\n')) ++at;
    size_t end = at;
    while (end < text.size() && text[end] != ' ' && text[end] != '\n') ++end;
    pid_t v = 0;
    auto [ptr, ec] = std::from_chars(text.data() + at, text.data() + end, v);
    if (end > at && ec == std::errc() && ptr == text.data() + end && v > 0)
      out.push_back(v);
    at = end;
  }
  return out;
}

std::optional<CpuSample> sample_server_cpu(pid_t pid, std::string* why) {
  std::optional<double> own = process_cpu(pid);
  if (!own) {
    *why = "cannot read the CPU time of process " + std::to_string(pid) +
           ": " + std::strerror(errno);
    return std::nullopt;
  }
  CpuSample s;
  s.seconds = *own;
  s.processes = 1;
  std::vector<pid_t> todo;
  if (!children_from_lists(pid, &todo)) children_from_scan(pid, &todo);
  while (!todo.empty()) {
    pid_t p = todo.back();
    todo.pop_back();
    std::optional<double> cpu = process_cpu(p);
    if (!cpu) continue;  // exited between the listing and now
    s.seconds += *cpu;
    ++s.processes;
    if (!children_from_lists(p, &todo)) children_from_scan(p, &todo);
  }
  return s;
}

}  // namespace hazel_bench

