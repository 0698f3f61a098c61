// FUZZ_CHECK: the invariants a fuzz target asserts beyond what the
// sanitizers see. A broken one is a finding: it says which and aborts, so
// that libFuzzer saves the input as a crash.
#pragma once

#include <cstdio>
#include <cstdlib>

#define FUZZ_CHECK(cond, ...)                                         \
  do {                                                                \
    if (!(cond)) {                                                    \
      std::fprintf(stderr, "%s:%d: invariant failed: %s: ", __FILE__, \
                   __LINE__, #cond);                                  \
      std::fprintf(stderr, __VA_ARGS__);                              \
      std::fputc('\n', stderr);                                       \
      std::abort();                                                   \
    }                                                                 \
  } while (0)

