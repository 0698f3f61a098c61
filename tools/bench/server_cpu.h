// CPU time of the server under load, so that a run reports operations per
// server CPU-second next to operations per second. On a machine where the
// load generator shares the cores with the server, the rate alone says as
// much about the generator as about the server.
//
// The server is a process and every process descended from it (a master and
// its workers), all alive while they are measured: the time a process's
// children have used is read from the children themselves, never from the
// cumulative times of reaped children. Each process's figure is the kernel's
// CPU clock for it (utime + stime), read in nanoseconds through
// clock_getcpuclockid(); /proc/<pid>/stat gives the same figure in clock ticks
// and is the fallback where that clock cannot be read.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hazel_bench {

struct ProcStat {
  pid_t ppid = 0;
  uint64_t utime_ticks = 0;  // user CPU, in sysconf(_SC_CLK_TCK) ticks
  uint64_t stime_ticks = 0;  // system CPU, same unit
};

// Parses the text of /proc/<pid>/stat. The process name in parentheses may
// itself hold spaces and parentheses, so fields are counted from the last ')'.
std::optional<ProcStat> parse_proc_stat(std::string_view text);

// Parses a space-separated pid list, as /proc/<pid>/task/<tid>/children.
std::vector<pid_t> parse_pid_list(std::string_view text);

struct CpuSample {
  double seconds = 0;    // CPU time of the whole tree
  size_t processes = 0;  // how many processes it was summed over
};

// Samples `pid` and all its living descendants. nullopt, with the reason in
// *why, if `pid` itself cannot be read (it exited, or never existed).
std::optional<CpuSample> sample_server_cpu(pid_t pid, std::string* why);

}  // namespace hazel_bench
