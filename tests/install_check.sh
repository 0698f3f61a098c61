#!/usr/bin/env bash
# install_check.sh — `make install` into a scratch DESTDIR, then use the
# installed tree the way an embedder and an operator would: the files are
# the ones promised, pkg-config gives working flags, the example server
# builds from copies of its sources against the installed library and
# answers a request, the man page is `hazel --help`; `make uninstall`
# leaves nothing behind.
set -u
cd "$(dirname "$0")/.."
root=$PWD

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
fail() { echo "install: $*"; fails=$((fails + 1)); }

# A make of its own: not part of the make that runs the tests.
mk() { env -u MAKEFLAGS -u MAKELEVEL -u MFLAGS make --no-print-directory "$@"; }

stage=$tmp/stage
prefix=/usr/local
P=$stage$prefix
if ! mk install DESTDIR="$stage" >"$tmp/install.log" 2>&1; then
  cat "$tmp/install.log"
  echo "install: make install DESTDIR=... failed"
  exit 1
fi

# ---- the tree ------------------------------------------------------------------
{
  printf '%s\n' bin/hazel bin/hazel-cli bin/hazel-bench lib/libhazel.a \
    lib/pkgconfig/hazel.pc share/man/man1/hazel.1 share/doc/hazel/README.md
  for f in include/hazel/*.h; do echo "$f"; done
  for f in docs/*.md; do echo "share/doc/hazel/$f"; done
} | sort >"$tmp/want"
(cd "$P" && find . -type f -o -type l | sed 's|^\./||' | sort) >"$tmp/got"
if ! diff -u "$tmp/want" "$tmp/got" >"$tmp/diff"; then
  fail "installed files differ from what is promised (- promised, + installed):"
  sed 's/^/    /' "$tmp/diff"
fi
for b in hazel hazel-cli hazel-bench; do
  [ -x "$P/bin/$b" ] || fail "bin/$b is not executable"
done
[ "$(find "$stage" -path "$P" -prune -o -type f -print | wc -l)" -eq 0 ] ||
  fail "files installed outside PREFIX"

version=$("$P/bin/hazel" --version) || fail "installed hazel --version fails"
version=${version#hazel }
version=${version%% *}
"$P/bin/hazel-cli" --help >/dev/null || fail "installed hazel-cli --help fails"
"$P/bin/hazel-bench" --help >/dev/null || fail "installed hazel-bench --help fails"

# ---- pkg-config and an embedder's build ------------------------------------
if ! command -v pkg-config >/dev/null; then
  fail "pkg-config is not installed (apt-get install pkg-config)"
else
  export PKG_CONFIG_LIBDIR=$P/lib/pkgconfig PKG_CONFIG_SYSROOT_DIR=$stage
  pcv=$(pkg-config --modversion hazel) || fail "pkg-config does not find hazel"
  [ "${pcv:-}" = "$version" ] || fail "hazel.pc says version '${pcv:-}', hazel --version '$version'"
  flags=$(pkg-config --cflags --libs hazel)
  echo "install: pkg-config --cflags --libs hazel: $flags"
  # Copies of the example's sources, away from the tree's include/ and src/.
  mkdir -p "$tmp/ex"
  cp examples/score_server.cpp examples/score_service.h "$tmp/ex/"
  # shellcheck disable=SC2086  # the flags are words
  if (cd "$tmp/ex" && g++ score_server.cpp $flags -o score_server) >"$tmp/cc.log" 2>&1; then
    # The example's own test, on the program built against the install.
    if ! HAZEL_SCORE_SERVER=$tmp/ex/score_server build/release/hazel_tests \
        --gtest_filter=Example.ScoreServerProgramAnswers --gtest_color=no >"$tmp/run.log" 2>&1; then
      cat "$tmp/run.log"
      fail "the example built against the installed library does not answer"
    fi
  else
    cat "$tmp/cc.log"
    fail "examples/score_server.cpp does not build with pkg-config --cflags --libs hazel"
  fi
  unset PKG_CONFIG_LIBDIR PKG_CONFIG_SYSROOT_DIR
fi

# ---- the man page --------------------------------------------------------------
man1=$P/share/man/man1/hazel.1
if command -v man >/dev/null; then
  MANWIDTH=200 man -l "$man1" 2>"$tmp/man.err" >"$tmp/man.txt" || fail "man -l hazel.1 fails"
  [ ! -s "$tmp/man.err" ] || { cat "$tmp/man.err"; fail "man warns about hazel.1"; }
  text=$tmp/man.txt
else
  text=$man1  # no renderer here: look for the options in the roff text
fi
# Every option that --help lists is on the page.
./hazel --help | grep -oE '^ +(-[a-z], )?--[a-z-]+' | sed 's/^ *//; s/.*, //' >"$tmp/opts"
[ -s "$tmp/opts" ] || fail "no options found in hazel --help"
while read -r opt; do
  grep -qF -- "$opt" "$text" || grep -qF -- "${opt//-/\\-}" "$text" ||
    fail "the man page lacks $opt"
done <"$tmp/opts"

# ---- uninstall -------------------------------------------------------------------
mk uninstall DESTDIR="$stage" >/dev/null 2>&1 || fail "make uninstall fails"
left=$(find "$stage" -type f -o -type l)
[ -z "$left" ] || fail "make uninstall left: $left"
for d in include/hazel share/doc/hazel; do
  [ ! -e "$P/$d" ] || fail "make uninstall left $d"
done

# ---- another prefix --------------------------------------------------------------
mk install DESTDIR="$tmp/usr-stage" PREFIX=/usr >/dev/null 2>&1 || fail "make install PREFIX=/usr fails"
[ -x "$tmp/usr-stage/usr/bin/hazel" ] || fail "PREFIX=/usr: no usr/bin/hazel"
grep -qx 'prefix=/usr' "$tmp/usr-stage/usr/lib/pkgconfig/hazel.pc" ||
  fail "PREFIX=/usr: hazel.pc does not say prefix=/usr"

if [ "$fails" -gt 0 ]; then
  echo "install: $fails problem(s)"
  exit 1
fi
echo "install: $(wc -l <"$tmp/want") files under PREFIX, the example builds from them and answers; uninstall removes them all"
