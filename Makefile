# hazel — top-level build. `make` builds libhazel.a, ./hazel, the tools and
# the man page; `make test` runs every test in a release and an ASan+UBSan
# build and ends with one line "N passed, M failed[, K skipped]";
# `make install` (PREFIX, DESTDIR) installs the server, the tools and the
# library for embedders. `make V=1` shows full commands.

# Every core unless a job count was given (make -jN, MAKEFLAGS=-jN, or a
# parent make). Make 4.3 hides a command-line -j here but lets it win.
ifeq ($(MAKELEVEL),0)
ifeq ($(filter -j% j%,$(MAKEFLAGS) $(shell printenv MAKEFLAGS)),)
MAKEFLAGS += -j$(shell nproc 2>/dev/null || echo 1)
endif
endif

CXX      ?= g++
CC       ?= gcc
CXXSTD   := -std=c++20
WARN     := -Wall -Wextra -Werror -Wconversion -Wshadow
# OPT is for what ships (libhazel.a, the binaries, the examples). The test
# programs are not shipped: -Og serves them. The sanitizer build uses -O1,
# the level ASan and UBSan are meant for; at -O2 -g it took most of make
# test's time. -g1 keeps file:line in stack traces and sanitizer reports.
OPT      ?= -O2 -g
TEST_OPT ?= -Og -g1
SAN_OPT  ?= -O1 -g1
CPPFLAGS := -Iinclude -Isrc -Itools -MMD -MP
CXXFLAGS  = $(CXXSTD) $(OPT) $(WARN)
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

LIB_OBJS    := $(LIB_SRCS:%.cpp=$(B)/%.o) $(B)/gen/web_assets.o
LIB_OBJS_A  := $(LIB_SRCS:%.cpp=$(BA)/%.o) $(BA)/gen/web_assets.o
BENCH_OBJS  := $(BENCH_SRCS:%.cpp=$(B)/%.o)
BENCH_OBJS_A := $(BENCH_SRCS:%.cpp=$(BA)/%.o)
TEST_OBJS   := $(TEST_SRCS:%.cpp=$(B)/%.o)
TEST_OBJS_A := $(TEST_SRCS:%.cpp=$(BA)/%.o)
EX_BINS     := $(EX_SRCS:examples/%.cpp=examples/bin/%)

BINS := hazel tools/hazel-cli tools/hazel-bench bench/raw_echo

.PHONY: all test clean examples bench bench-quick bench-micro check-tests \
        install uninstall
all: libhazel.a $(BINS) $(B)/hazel.1

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

# The man page is `hazel --help` turned into roff: one text, no drift.
$(B)/hazel.1: hazel tools/usage2roff.awk
	@mkdir -p $(dir $@)
	$(call say,MAN,$@)
	$(Q)./hazel --help | awk -v version="$$(./hazel --version)" \
	  -f tools/usage2roff.awk >$@.tmp && mv $@.tmp $@

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
	$(Q)$(CXX) $(CPPFLAGS) $(PCH) $(CXXFLAGS) -c -o $@ $<

$(BA)/%.o: %.cpp
	@mkdir -p $(dir $@)
	$(call say,CXX-SAN,$<)
	$(Q)$(CXX) $(CPPFLAGS) $(PCH) $(CXXSTD) $(SAN_OPT) $(WARN) $(SAN) -c -o $@ $<

$(TEST_OBJS): OPT = $(TEST_OPT)
$(TEST_OBJS_A): SAN_OPT = $(TEST_OPT)

# Every test file starts with gtest.h, a third of its compile time: it is
# parsed once per build into a precompiled header (same flags as the tests;
# GCC falls back to the copied header if the .gch does not fit).
$(B)/tests/gtest_pch.h.gch: OPT = $(TEST_OPT)
$(BA)/tests/gtest_pch.h.gch: SAN_OPT = $(TEST_OPT)
$(B)/tests/gtest_pch.h.gch: tests/gtest_pch.h
	@mkdir -p $(dir $@)
	$(call say,PCH,$<)
	$(Q)cp $< $(@:.gch=) && $(CXX) $(CPPFLAGS) $(CXXFLAGS) -x c++-header -c -o $@ $<
$(BA)/tests/gtest_pch.h.gch: tests/gtest_pch.h
	@mkdir -p $(dir $@)
	$(call say,PCH-SAN,$<)
	$(Q)cp $< $(@:.gch=) && $(CXX) $(CPPFLAGS) $(CXXSTD) $(SAN_OPT) $(WARN) $(SAN) \
	  -x c++-header -c -o $@ $<
$(TEST_OBJS): $(B)/tests/gtest_pch.h.gch
$(TEST_OBJS): PCH = -include $(B)/tests/gtest_pch.h
$(TEST_OBJS_A): $(BA)/tests/gtest_pch.h.gch
$(TEST_OBJS_A): PCH = -include $(BA)/tests/gtest_pch.h

# The chat page and the JavaScript client that the WebSocket port serves
# are compiled in from their own files (the one source of truth):
# tools/embed.sh turns them into a C++ source.
WEB_ASSETS := web/index.html clients/js/hazel.js
build/gen/web_assets.cpp: $(WEB_ASSETS) tools/embed.sh
	@mkdir -p $(dir $@)
	$(call say,EMBED,$@)
	$(Q)sh tools/embed.sh $(WEB_ASSETS) >$@.tmp && mv $@.tmp $@
$(B)/gen/web_assets.o: build/gen/web_assets.cpp
	@mkdir -p $(dir $@)
	$(call say,CXX,$<)
	$(Q)$(CXX) $(CPPFLAGS) $(CXXFLAGS) -c -o $@ $<
$(BA)/gen/web_assets.o: build/gen/web_assets.cpp
	@mkdir -p $(dir $@)
	$(call say,CXX-SAN,$<)
	$(Q)$(CXX) $(CPPFLAGS) $(CXXSTD) $(SAN_OPT) $(WARN) $(SAN) -c -o $@ $<

# Objects are kept, not removed as intermediates after the link.
.SECONDARY:

# ---- tests ---------------------------------------------------------------
GTEST_LIBS := -lgtest -lpthread

$(B)/hazel_tests: $(TEST_OBJS) $(BENCH_LIB) libhazel.a
	$(call say,LINK,$@)
	$(Q)$(CXX) $(CXXFLAGS) -o $@ $(TEST_OBJS) $(BENCH_LIB) libhazel.a $(GTEST_LIBS)

$(BA)/hazel_tests: $(TEST_OBJS_A) $(BENCH_LIB_A) $(BA)/libhazel.a
	$(call say,LINK,$@)
	$(Q)$(CXX) $(CXXFLAGS) $(SAN) -o $@ $(TEST_OBJS_A) $(BENCH_LIB_A) $(BA)/libhazel.a $(GTEST_LIBS)

# Shell tests, each counted as one test: every tests/*_check.sh (the README
# followed as written, the installed tree used by an embedder, the systemd
# unit, ...).
SCRIPT_TESTS := $(sort $(wildcard tests/*_check.sh))

# The integration tests run ./hazel and the example programs as real
# processes, so they are built first. Everything runs side by side.
test: all examples $(B)/hazel_tests $(BA)/hazel_tests
	@bash tests/run_all.sh $(B)/hazel_tests $(BA)/hazel_tests -- $(SCRIPT_TESTS)

# ---- install ----------------------------------------------------------------
# `make install PREFIX=/usr DESTDIR=/tmp/stage` for a package; an embedder then
# builds with `g++ my.cpp $(pkg-config --cflags --libs hazel)`.
PREFIX  ?= /usr/local
BINDIR  ?= $(PREFIX)/bin
LIBDIR  ?= $(PREFIX)/lib
INCDIR  ?= $(PREFIX)/include
DOCDIR  ?= $(PREFIX)/share/doc/hazel
MANDIR  ?= $(PREFIX)/share/man
INSTALL ?= install
VERSION := $(shell sed -n 's/.*version() { return "\([^"]*\)".*/\1/p' src/daemon.cpp)
HEADERS := $(sort $(wildcard include/hazel/*.h))
DOCS    := $(sort $(wildcard docs/*.md))
INSTALLED := $(BINDIR)/hazel $(BINDIR)/hazel-cli $(BINDIR)/hazel-bench \
             $(LIBDIR)/libhazel.a $(LIBDIR)/pkgconfig/hazel.pc \
             $(HEADERS:include/%=$(INCDIR)/%) $(MANDIR)/man1/hazel.1 \
             $(DOCDIR)/README.md $(DOCS:%=$(DOCDIR)/%)

install: all
	$(call say,INSTALL,$(DESTDIR)$(PREFIX))
	$(Q)$(INSTALL) -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBDIR)/pkgconfig \
	  $(DESTDIR)$(INCDIR)/hazel $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(DOCDIR)/docs
	$(Q)$(INSTALL) -m 755 hazel tools/hazel-cli tools/hazel-bench $(DESTDIR)$(BINDIR)
	$(Q)$(INSTALL) -m 644 libhazel.a $(DESTDIR)$(LIBDIR)
	$(Q)sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@VERSION@|$(VERSION)|' \
	  contrib/hazel.pc.in >$(DESTDIR)$(LIBDIR)/pkgconfig/hazel.pc
	$(Q)$(INSTALL) -m 644 $(HEADERS) $(DESTDIR)$(INCDIR)/hazel
	$(Q)$(INSTALL) -m 644 $(B)/hazel.1 $(DESTDIR)$(MANDIR)/man1
	$(Q)$(INSTALL) -m 644 README.md $(DESTDIR)$(DOCDIR)
	$(Q)$(INSTALL) -m 644 $(DOCS) $(DESTDIR)$(DOCDIR)/docs

# Removes exactly what install put there, and hazel's own directories.
uninstall:
	$(call say,UNINST,$(DESTDIR)$(PREFIX))
	$(Q)rm -f $(addprefix $(DESTDIR),$(INSTALLED))
	$(Q)for d in $(INCDIR)/hazel $(DOCDIR)/docs $(DOCDIR); do \
	  [ ! -d "$(DESTDIR)$$d" ] || rmdir "$(DESTDIR)$$d"; done

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

# ---- fuzzing -----------------------------------------------------------------
# `make fuzz` builds every fuzz/<name>_fuzz.cpp into a libFuzzer target and
# runs each for FUZZ_SECONDS (default 60), one after the other, with its
# seeds (fuzz/corpus/<name>/, copied to a working corpus in build/fuzz/run/)
# and its dictionary (fuzz/<name>.dict) if there is one; extra libFuzzer
# flags may sit in fuzz/<name>.options. It fails on any crash, leak, timeout
# or sanitizer report, naming the target and the saved input;
# FUZZ_TARGETS="codec resp" runs only those (docs/FUZZING.md). It needs
# clang++ with libFuzzer; `make test` does not.
#
# Everything is built with clang and the sanitizers into build/fuzz/: the
# library and the bench parts with -fsanitize=fuzzer-no-link (coverage for
# the fuzzer), the shared harness (fuzz/lib/*.cpp) into an archive every
# target links.
FUZZ_CXX     ?= clang++
FUZZ_SECONDS ?= 60
FUZZ_SAN     := -fsanitize=address,undefined -fno-omit-frame-pointer \
                -fno-sanitize-recover=all
FUZZ_CXXFLAGS = $(CXXSTD) -O1 -g $(WARN) $(FUZZ_SAN) -fsanitize=fuzzer-no-link
BF           := build/fuzz
FUZZ_SRCS    := $(sort $(wildcard fuzz/*_fuzz.cpp))
FUZZ_NAMES   := $(FUZZ_SRCS:fuzz/%_fuzz.cpp=%)
FUZZ_TARGETS ?= $(FUZZ_NAMES)
FUZZ_BINS    := $(FUZZ_NAMES:%=$(BF)/bin/%_fuzz)
FUZZ_HELPERS := $(sort $(wildcard fuzz/lib/*.cpp))
FUZZ_LIB_OBJS := $(LIB_SRCS:%.cpp=$(BF)/obj/%.o) $(BENCH_SRCS:%.cpp=$(BF)/obj/%.o)
FUZZ_HELPER_OBJS := $(FUZZ_HELPERS:%.cpp=$(BF)/obj/%.o)

.PHONY: fuzz fuzz-build fuzz-toolchain fuzz-corpus
fuzz: fuzz-build
	@bash fuzz/run.sh $(FUZZ_SECONDS) $(BF) $(FUZZ_TARGETS)

fuzz-build: $(FUZZ_BINS)

# Rewrites the committed seeds and dictionaries from the wire numbers
# (fuzz/make_corpus.cpp); built like the tools, no clang needed.
fuzz-corpus: $(B)/fuzz/make_corpus
	$(Q)$(B)/fuzz/make_corpus fuzz

$(B)/fuzz/make_corpus: $(B)/fuzz/make_corpus.o $(BENCH_LIB) libhazel.a
	$(call say,LINK,$@)
	$(Q)$(CXX) $(CXXFLAGS) -o $@ $< $(BENCH_LIB) libhazel.a $(LDLIBS)

# One clear line instead of a wall of link errors when clang or its
# libFuzzer runtime is missing.
fuzz-toolchain:
	@mkdir -p $(BF)
	@printf 'extern "C" int LLVMFuzzerTestOneInput(const unsigned char*, unsigned long) { return 0; }\n' \
	  >$(BF)/probe.cpp
	@$(FUZZ_CXX) -fsanitize=fuzzer,address,undefined -o $(BF)/probe $(BF)/probe.cpp \
	  >$(BF)/probe.log 2>&1 || { echo "make fuzz: '$(FUZZ_CXX) -fsanitize=fuzzer' does not work" \
	  "(needs clang and its libFuzzer runtime; Debian: apt-get install clang libclang-rt-dev):"; \
	  head -n 3 $(BF)/probe.log; exit 1; }

$(FUZZ_LIB_OBJS) $(FUZZ_HELPER_OBJS) $(FUZZ_SRCS:%.cpp=$(BF)/obj/%.o): | fuzz-toolchain

$(BF)/obj/%.o: %.cpp
	@mkdir -p $(dir $@)
	$(call say,CXX-FUZ,$<)
	$(Q)$(FUZZ_CXX) $(CPPFLAGS) $(FUZZ_CXXFLAGS) -c -o $@ $<

$(BF)/libhazel.a: $(FUZZ_LIB_OBJS)
	$(call say,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(BF)/libfuzz.a: $(FUZZ_HELPER_OBJS)
	$(call say,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(BF)/bin/%_fuzz: $(BF)/obj/fuzz/%_fuzz.o $(BF)/libfuzz.a $(BF)/libhazel.a
	@mkdir -p $(dir $@)
	$(call say,LINK,$@)
	$(Q)$(FUZZ_CXX) $(CXXSTD) $(FUZZ_SAN) -fsanitize=fuzzer -o $@ $^

clean:
	rm -rf build libhazel.a $(BINS) examples/bin

-include $(shell find build -name '*.d' 2>/dev/null)
