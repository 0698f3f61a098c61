#!/usr/bin/env bash
# systemd_check.sh — contrib/hazel.service passes `systemd-analyze verify`
# against an installed hazel (its flags parse, its man page exists), keeps
# the hardening it promises, and fits hazel's defaults: descriptors for
# --max-clients, more stop time than the shutdown drain.
# Exit 77 (skipped) where systemd-analyze is missing or cannot verify here.
set -u
cd "$(dirname "$0")/.."
unit=contrib/hazel.service

skip() { echo "SKIP systemd: $*"; exit 77; }
command -v systemd-analyze >/dev/null ||
  skip "systemd-analyze not found (apt-get install systemd to run this check)"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
fail() { echo "systemd: $*"; fails=$((fails + 1)); }

# Can this systemd verify at all here (containers, old versions)?
printf '[Service]\nExecStart=/bin/true\n' >"$tmp/probe.service"
if ! out=$(systemd-analyze verify --man=no "$tmp/probe.service" 2>&1) || [ -n "$out" ]; then
  skip "systemd-analyze verify does not work here: $out"
fi

# verify wants the binary and the man page that Exec= and Documentation= name.
stage=$tmp/stage
env -u MAKEFLAGS -u MAKELEVEL -u MFLAGS make --no-print-directory install \
  DESTDIR="$stage" >"$tmp/install.log" 2>&1 || { cat "$tmp/install.log"; fail "make install failed"; }
bin=$stage/usr/local/bin/hazel
sed "s|=/usr/local/bin/hazel|=$bin|" "$unit" >"$tmp/hazel.service"
grep -q "^ExecStart=$bin " "$tmp/hazel.service" || fail "ExecStart is not /usr/local/bin/hazel"
man_opt=(--man=no)
command -v man >/dev/null && man_opt=(--man=yes)
if ! out=$(MANPATH=$stage/usr/local/share/man systemd-analyze verify "${man_opt[@]}" "$tmp/hazel.service" 2>&1) ||
    [ -n "$out" ]; then
  echo "$out"
  fail "systemd-analyze verify $unit reports problems"
fi

value() { sed -n "s/^$1=//p" "$unit" | tail -1; }

# hazel accepts the flags: parsed in order, --version last exits 0.
exec_args=$(value ExecStart)
exec_args=${exec_args#/usr/local/bin/hazel}
# shellcheck disable=SC2086  # the flags are words
"$bin" $exec_args --version >/dev/null 2>&1 || fail "hazel rejects ExecStart's flags:$exec_args"

for want in DynamicUser=yes NoNewPrivileges=yes ProtectSystem=strict ProtectHome=yes \
    PrivateTmp=yes KillSignal=SIGTERM 'ExecReload=/bin/kill -HUP $MAINPID'; do
  grep -qxF "$want" "$unit" || fail "$unit lacks $want"
done

help=$(./hazel --help)
max_clients=$(sed -n 's/.*--max-clients N .*(default \([0-9]*\)).*/\1/p' <<<"$help")
nofile=$(value LimitNOFILE)
if [ -z "$max_clients" ]; then
  fail "no --max-clients default in hazel --help"
elif ! [ "${nofile:-0}" -gt "$max_clients" ] 2>/dev/null; then
  fail "LimitNOFILE=$nofile is not above --max-clients default $max_clients"
fi
drain=$(tr '\n' ' ' <<<"$help" | sed -n 's/.*up to \([0-9]*\) s to drain.*/\1/p')
stop=$(value TimeoutStopSec)
stop=${stop%s}
if [ -z "$drain" ]; then
  fail "no drain time ('up to N s to drain') in hazel --help"
elif ! [ "${stop:-0}" -gt "$drain" ] 2>/dev/null; then
  fail "TimeoutStopSec=$(value TimeoutStopSec) is not above the ${drain} s drain"
fi

# The exposure score, where this systemd can rate a unit file offline.
if sec=$(systemd-analyze security --offline=true "$tmp/hazel.service" 2>/dev/null | grep 'Overall exposure'); then
  echo "systemd: ${sec#→ }"
  case $sec in
    *" SAFE"* | *" OK"*) ;;
    *) fail "hardening is weaker than OK: $sec" ;;
  esac
fi

[ "$fails" -eq 0 ] || exit 1
echo "systemd: $unit verifies cleanly (LimitNOFILE $nofile, TimeoutStopSec ${stop}s)"
