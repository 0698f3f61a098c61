# hazel — top-level build. `make` builds libhazel.a, ./hazel and the tools;
# `make test` runs every test twice (release, then ASan+UBSan) and ends with
# one line "N passed, M failed". `make V=1` shows full commands.

CXX      ?= g++
CC       ?= gcc
CXXSTD   := -std=c++20
WARN     := -Wall -Wextra -Werror -Wconversion -Wshadow
OPT      ?= -O2 -g
CPPFLAGS := -Iinclude -Isrc -Itools -MMD -MP
CXXFLAGS := $(CXXSTD) $(OPT) $(WARN)
CFLAGS   := -std=c11 $(OPT) $(WARN)
LDLIBS   :=
SAN      := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all

ifeq ($(V),1)
Q :=
say = @true
else
Q := @
say = @printf '  %-7s %s\n' $(1) $(2)
endif

LIB_SRCS  := $(sort $(wildcard src/*.cpp src/services/*.cpp))
LIB_SRCS  := $(filter-out src/main.cpp,$(LIB_SRCS))
BENCH_SRCS := $(sort $(wildcard tools/bench/*.cpp))
TEST_SRCS := $(sort $(wildcard tests/*.cpp))
EX_SRCS   := $(sort $(wildcard examples/*.cpp))

B  := build/release
BA := build/asan

LIB_OBJS    := $(LIB_SRCS:%.cpp=$(B)/%.o)
LIB_OBJS_A  := $(LIB_SRCS:%.cpp=$(BA)/%.o)
BENCH_OBJS  := $(BENCH_SRCS:%.cpp=$(B)/%.o)
BENCH_OBJS_A := $(BENCH_SRCS:%.cpp=$(BA)/%.o)
TEST_OBJS   := $(TEST_SRCS:%.cpp=$(B)/%.o)
TEST_OBJS_A := $(TEST_SRCS:%.cpp=$(BA)/%.o)
EX_BINS     := $(EX_SRCS:examples/%.cpp=examples/bin/%)

BINS := hazel tools/hazel-cli tools/hazel-bench bench/raw_echo

.PHONY: all test clean examples bench bench-quick bench-micro check-tests
all: libhazel.a $(BINS)

libhazel.a: $(LIB_OBJS)
	$(call say,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(BA)/libhazel.a: $(LIB_OBJS_A)
	$(call say,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

hazel: $(B)/src/main.o libhazel.a
	$(call say,LINK,$@)
	$(Q)$(CXX) $(CXXFLAGS) -o $@ $< libhazel.a $(LDLIBS)

tools/hazel-cli: $(B)/tools/hazel-cli.o libhazel.a
	$(call say,LINK,$@)
	$(Q)$(CXX) $(CXXFLAGS) -o $@ $< libhazel.a $(LDLIBS)

# hazel-bench's parts (tools/bench/) are a library of their own, so the
# tests can link the pure ones.
BENCH_LIB   := $(B)/libhazel-bench.a
BENCH_LIB_A := $(BA)/libhazel-bench.a

$(BENCH_LIB): $(BENCH_OBJS)
	$(call say,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(BENCH_LIB_A): $(BENCH_OBJS_A)
	$(call say,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

tools/hazel-bench: $(B)/tools/hazel-bench.o $(BENCH_LIB) libhazel.a
	$(call say,LINK,$@)
	$(Q)$(CXX) $(CXXFLAGS) -o $@ $< $(BENCH_LIB) libhazel.a $(LDLIBS)

bench/raw_echo: bench/raw_echo.c
	$(call say,CC,$@)
	$(Q)$(CC) $(CFLAGS) -o $@ $<

examples: $(EX_BINS)
examples/bin/%: $(B)/examples/%.o libhazel.a
	@mkdir -p $(dir $@)
	$(call say,LINK,$@)
	$(Q)$(CXX) $(CXXFLAGS) -o $@ $< libhazel.a $(LDLIBS)

$(B)/%.o: %.cpp
	@mkdir -p $(dir $@)
	$(call say,CXX,$<)
	$(Q)$(CXX) $(CPPFLAGS) $(CXXFLAGS) -c -o $@ $<

$(BA)/%.o: %.cpp
	@mkdir -p $(dir $@)
	$(call say,CXX-SAN,$<)
	$(Q)$(CXX) $(CPPFLAGS) $(CXXFLAGS) $(SAN) -c -o $@ $<

# ---- tests ---------------------------------------------------------------
GTEST_LIBS := -lgtest -lpthread

$(B)/hazel_tests: $(TEST_OBJS) $(BENCH_LIB) libhazel.a
	$(call say,LINK,$@)
	$(Q)$(CXX) $(CXXFLAGS) -o $@ $(TEST_OBJS) $(BENCH_LIB) libhazel.a $(GTEST_LIBS)

$(BA)/hazel_tests: $(TEST_OBJS_A) $(BENCH_LIB_A) $(BA)/libhazel.a
	$(call say,LINK,$@)
	$(Q)$(CXX) $(CXXFLAGS) $(SAN) -o $@ $(TEST_OBJS_A) $(BENCH_LIB_A) $(BA)/libhazel.a $(GTEST_LIBS)

# The integration tests run ./hazel and the example programs as real
# processes, so they are built first.
test: all examples $(B)/hazel_tests $(BA)/hazel_tests
	@bash tests/run_all.sh $(B)/hazel_tests $(BA)/hazel_tests

# ---- benchmarks -----------------------------------------------------------
bench: all
	@bash bench/run.sh

bench-quick: all
	@bash bench/run.sh --quick

bench-micro: $(B)/bench/micro
	@$(B)/bench/micro

$(B)/bench/micro: $(B)/bench/micro.o libhazel.a
	$(call say,LINK,$@)
	$(Q)$(CXX) $(CXXFLAGS) -o $@ $< libhazel.a -lbenchmark -lpthread

clean:
	rm -rf build libhazel.a $(BINS) examples/bin

-include $(shell find build -name '*.d' 2>/dev/null)
