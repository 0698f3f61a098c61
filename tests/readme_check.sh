#!/usr/bin/env bash
# readme_check.sh — follows README.md the way a new user would, on the built
# tree, and checks that each command shown prints what the README shows.
#
# How it reads the README:
#   - A session is an indented block whose lines start with "$ " (a command)
#     followed by what the command prints (stdout and stderr, as a terminal
#     shows them). Other blocks are left alone.
#   - The paragraph before a block may name a terminal ("In terminal 3",
#     "terminals 3 and 4"); commands run in that terminal, and a block with
#     no "$ " line there continues what that terminal's program prints.
#     Blocks with no terminal named run one after another in terminal 0.
#   - A program that is still running when its block has been printed (the
#     server, `room join`) keeps running; "Ctrl-C in terminal N" in the text
#     sends it SIGINT at that point, as Ctrl-C would. "^C" at the start of a
#     line is the terminal's echo of it.
#   - "..." as the last line of what a program prints stands for more lines.
#   - Only what must vary is let vary: timestamps, times (the ping's round
#     trip, uptime_s) and ids (pids, client ids). The README shows them as
#     they print; any number is accepted there, but the same id must print
#     where the README shows the same id.
#
# What it runs: the server on a port the kernel picks (-p 0 for -p 9000),
# hazel-cli against that port, `make install` into a scratch DESTDIR, and
# pkg-config and g++ (of the README's C++ program) against it. `make` must
# find the tree built. Not run: apt-get (it checks instead that the
# packages named are installed), git clone and cd, make test (this check is
# part of it), and the systemd commands. A command it has no rule for
# fails the check, so a new kind of sample gets a rule here.
set -u
cd "$(dirname "$0")/.."
readme=README.md

tmp=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -KILL "$pid" 2>/dev/null; done
  rm -rf "$tmp"
}
trap cleanup EXIT

errors=0
err() { echo "readme: $*"; errors=$((errors + 1)); }
note() { echo "readme: $*"; }

# Waiting is for the programs, not a measure of speed: the deadline only
# keeps a hung run from hanging the suite.
deadline_s=30
port=""
stage=$tmp/stage
pc_env=(PKG_CONFIG_LIBDIR="$stage/usr/local/lib/pkgconfig" PKG_CONFIG_SYSROOT_DIR="$stage")

# ---- programs -------------------------------------------------------------

nprog=0
declare -A term_prog   # terminal -> index of the program last started there
prog_cmd=()            # index -> command as the README shows it
prog_pid=()
prog_term=()

lines_of() { [ -f "$1" ] && wc -l <"$1" || echo 0; }
# Running: there, and not a zombie waiting to be reaped.
alive() {
  local st
  st=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null) || return 1
  [ -n "$st" ] && [ "${st%% *}" != Z ]
}
exited() { ! alive "$1"; }

# Waits until program $1 has printed $2 lines or has exited.
wait_output() {
  local i=$1 want=$2 t=0
  while [ "$(lines_of "$tmp/p$i.out")" -lt "$want" ] && alive "${prog_pid[$i]}"; do
    sleep 0.05
    t=$((t + 1))
    if [ $t -ge $((deadline_s * 20)) ]; then
      err "terminal ${prog_term[$i]}: \$ ${prog_cmd[$i]}: printed $(lines_of "$tmp/p$i.out") of $want lines in ${deadline_s} s"
      return 1
    fi
  done
}

# Lines the README shows for program $1 so far that it prints itself (not
# "..." nor a lone "^C").
shown() { grep -vcE '^(\.\.\.|\^C)$' "$tmp/p$1.exp"; }

# Waits for program $1 to exit.
wait_exit() {
  local i=$1 t=0
  [ ! -f "$tmp/p$i.rc" ] || return 0
  while alive "${prog_pid[$i]}"; do
    sleep 0.05
    t=$((t + 1))
    if [ $t -ge $((deadline_s * 20)) ]; then
      err "terminal ${prog_term[$i]}: \$ ${prog_cmd[$i]}: still running after ${deadline_s} s; killed"
      kill -KILL "${prog_pid[$i]}" 2>/dev/null
      break
    fi
  done
  wait "${prog_pid[$i]}" 2>/dev/null
  echo $? >"$tmp/p$i.rc"
}

# A client that went away leaves the server's side of its connection in
# CLOSE_WAIT until the server has handled it. Waiting for none to be left
# makes the next command see the server as a person would after a pause
# (`room members` after a member's Ctrl-C), however loaded the machine.
server_caught_up() {
  local hex
  hex=$(printf '%04X' "$port")
  ! awk -v p=":$hex" '$4 == "08" && substr($2, length($2) - 4) == p { found = 1 }
                      END { exit !found }' /proc/net/tcp /proc/net/tcp6 2>/dev/null
}
wait_server() {
  [ -n "$port" ] || return 0
  local t=0
  until server_caught_up; do
    sleep 0.05
    t=$((t + 1))
    if [ $t -ge $((deadline_s * 20)) ]; then
      err "the server left a closed connection unhandled for ${deadline_s} s"
      return 1
    fi
  done
}

# Starts `$2` as program $1 (already rewritten for this run), in the
# background, with SIGINT at its default as in a terminal.
launch() {
  local i=$1 cmd=$2
  : >"$tmp/p$i.out"
  env --default-signal=INT "${pc_env[@]}" bash -c "$cmd" >"$tmp/p$i.out" 2>&1 </dev/null &
  prog_pid[$i]=$!
  pids+=($!)
}

# ---- one command ------------------------------------------------------------

# Runs README command $2 in terminal $1; its expected lines follow in the
# block. Sets `cur` to the new program's index, or -1 if it is not run.
start_command() {
  local term=$1 cmd=$2
  cur=-1
  local prev=${term_prog[$term]:-}
  if [ -n "$prev" ]; then wait_exit "$prev"; fi

  local run=""
  case "$cmd" in
    "apt-get update") note "not run: \$ $cmd" ;;
    "apt-get install -y "*)
      local pkg
      if ! command -v dpkg-query >/dev/null; then
        note "not a Debian system: packages not checked"
      else
        for pkg in ${cmd#apt-get install -y }; do
          dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q ' installed$' ||
            err "\$ $cmd: package $pkg is not installed here"
        done
      fi
      ;;
    "git clone "* | "cd "*) note "not run: \$ $cmd" ;;
    "make")
      # The tree is built: make must have nothing left to do.
      env -u MAKEFLAGS -u MAKELEVEL make -q all >/dev/null 2>&1 ||
        err "\$ make: a built tree is not up to date (make -q all fails)"
      ;;
    "make test") note "not run: \$ $cmd (this check is part of it)" ;;
    "make install" | "make install "*)
      run="exec env -u MAKEFLAGS -u MAKELEVEL ${cmd} DESTDIR=$stage" ;;
    "systemctl "* | "cp contrib/hazel.service "*) note "not run: \$ $cmd" ;;
    "pkg-config "* | "g++ "*) run="cd $tmp && exec $cmd" ;;
    "./hazel"*) run="exec ${cmd/ -p 9000/ -p 0}" ;;
    "tools/hazel-cli"*)
      [ -n "$port" ] || err "\$ $cmd: no server started before it"
      wait_server
      local rest=${cmd#tools/hazel-cli}
      run="exec tools/hazel-cli -p ${port:-9000}${rest/ -p 9000/}"
      ;;
    *) err "no rule to check \$ $cmd" ;;
  esac
  [ -n "$run" ] || return 0
  cur=$nprog
  nprog=$((nprog + 1))
  prog_cmd[$cur]=$cmd
  prog_term[$cur]=$term
  term_prog[$term]=$cur
  : >"$tmp/p$cur.exp"
  launch "$cur" "$run"
}

# After a command's block: wait for what the block shows, or for its exit.
settle() {
  local i=$1
  [ "$i" -ge 0 ] || return 0
  wait_output "$i" "$(shown "$i")"
  # Learn the port the kernel gave the server.
  local p
  p=$(sed -n 's/.* listening on 127\.0\.0\.1:\([0-9][0-9]*\) .*/\1/p' "$tmp/p$i.out" | head -1)
  [ -n "$p" ] && port=$p
  return 0
}

ctrl_c() {
  local term=$1
  local i=${term_prog[$term]:-}
  if [ -z "$i" ] || exited "${prog_pid[$i]}"; then
    err "Ctrl-C in terminal $term: nothing runs there"
    return
  fi
  wait_output "$i" "$(shown "$i")"
  kill -INT "${prog_pid[$i]}"
  wait_exit "$i"
}

# ---- the README ---------------------------------------------------------------

# The C++ program under "Embed it" is the my_server.cpp that g++ builds.
awk '/^```cpp/ { on = 1; next } on && /^```/ { exit } on { print }' "$readme" >"$tmp/my_server.cpp"

terms_in() {  # terminals named in a paragraph: "terminal 3", "terminals 3 and 4"
  grep -oE '[Tt]erminals? [0-9]+( and [0-9]+)*' <<<"$1" | tail -1 | grep -oE '[0-9]+'
}

process_block() {
  local -a lines=("$@")
  local -a terms
  mapfile -t terms < <(terms_in "$para")
  local first=${lines[0]}
  if [[ $first != '$ '* ]]; then
    # Output continued by the programs of the terminals named.
    [ ${#terms[@]} -gt 0 ] || return 0
    local t i l
    for t in "${terms[@]}"; do
      i=${term_prog[$t]:-}
      if [ -z "$i" ]; then
        err "a block continues terminal $t, where nothing was started"
        continue
      fi
      for l in "${lines[@]}"; do printf '%s\n' "$l" >>"$tmp/p$i.exp"; done
      alive "${prog_pid[$i]}" && wait_output "$i" "$(shown "$i")"
    done
    return 0
  fi
  local term=${terms[0]:-0}
  [ ${#terms[@]} -le 1 ] || err "a block of commands in several terminals: ${terms[*]}"
  cur=-1
  local l
  for l in "${lines[@]}"; do
    if [[ $l == '$ '* ]]; then
      settle "$cur"
      start_command "$term" "${l#\$ }"
    elif [ "$cur" -ge 0 ]; then
      printf '%s\n' "$l" >>"$tmp/p$cur.exp"
    fi
  done
  settle "$cur"
}

para=""        # the paragraph before the next block
para_done=1    # its Ctrl-C (if any) was acted on
block=()
in_fence=0
end_para() {
  [ $para_done -eq 0 ] || return 0
  para_done=1
  local t
  for t in $(grep -oE 'Ctrl-C in terminal [0-9]+' <<<"$para" | grep -oE '[0-9]+$'); do
    ctrl_c "$t"
  done
}
flush_block() {
  # Trailing blank lines are not output.
  while [ ${#block[@]} -gt 0 ] && [ -z "${block[-1]}" ]; do unset 'block[-1]'; done
  if [ ${#block[@]} -gt 0 ]; then
    process_block "${block[@]}"
    para=""
  fi
  block=()
}
while IFS= read -r line || [ -n "$line" ]; do
  if [[ $line == '```'* ]]; then
    in_fence=$((1 - in_fence))
    continue
  fi
  [ $in_fence -eq 0 ] || continue
  if [[ $line == '    '* ]]; then
    end_para
    block+=("${line:4}")
    continue
  fi
  if [ -z "$line" ]; then
    if [ ${#block[@]} -gt 0 ]; then block+=(""); else end_para; fi
    continue
  fi
  flush_block
  [ $para_done -eq 0 ] || para=""
  para_done=0
  para+=" $line"
done <"$readme"
end_para
flush_block

# Everything started must stop by itself now (the server was stopped).
for ((i = 0; i < nprog; i++)); do wait_exit "$i"; done

# ---- compare ------------------------------------------------------------------

manifest=$tmp/manifest
: >"$manifest"
for ((i = 0; i < nprog; i++)); do
  kind=plain
  [[ ${prog_cmd[$i]} == *"room members"* ]] && kind=members
  {
    echo "@prog $i $kind terminal ${prog_term[$i]}: \$ ${prog_cmd[$i]}"
    sed 's/^/E /' "$tmp/p$i.exp"
    # What varies by this run alone: the port, the scratch install path.
    sed -e "s|127\.0\.0\.1:${port:-9000}|127.0.0.1:9000|g" -e "s|$stage||g" \
        -e 's/^/A /' "$tmp/p$i.out"
    rc=$(cat "$tmp/p$i.rc" 2>/dev/null || echo 0)
    # 0, or 130 after Ctrl-C; any other exit status fails.
    echo "@rc $rc"
  } >>"$manifest"
done

awk '
function bind(kind, e, a) {
  if ((kind, e) in e2a && e2a[kind, e] != a) return 0
  if ((kind, a) in a2e && a2e[kind, a] != e) return 0
  e2a[kind, e] = a; a2e[kind, a] = e
  return 1
}
# Replaces the number that the match of `re` ends with by <tag>, and
# records it unless it is a time.
function take(re, tag) {
  if (!match(s, re)) return
  m = substr(s, RSTART, RLENGTH)
  pre = substr(s, 1, RSTART - 1); post = substr(s, RSTART + RLENGTH)
  if (match(m, /[0-9]+(\.[0-9]+)?$/)) {
    v = substr(m, RSTART, RLENGTH)
    m = substr(m, 1, RSTART - 1) "<" tag ">" substr(m, RSTART + RLENGTH)
    if (tag != "time") { nid++; idk[nid] = tag; idv[nid] = v }
  }
  s = pre m post
}
function norm(line, kind) {
  s = line; nid = 0
  sub(/^\^C/, "", s)
  sub(/[ \t]+$/, "", s)
  if (match(s, /^[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9:.]+Z /)) {
    s = "<time>" substr(s, RLENGTH)
    take("^<time> [a-z]+ +\\[[0-9]+", "pid")
  }
  take("^PONG from [^ ]+ in [0-9]+\\.[0-9]+", "time")
  take("^uptime_s [0-9]+$", "time")
  take("client=[0-9]+", "client")
  take("^connected as client [0-9]+", "client")
  take("^\\[[^]]*\\] [0-9]+", "client")
  take("^told client [0-9]+$", "client")
  if (kind == "members") take("^[0-9]+$", "client")
  return s
}
function report(    i, n) {
  if (nprog == 0) return
  ok = 1
  ne = 0; for (i = 1; i <= en; i++) if (ex[i] != "^C" && ex[i] != "") ex2[++ne] = ex[i]
  na = 0; for (i = 1; i <= an; i++) if (ac[i] != "") ac2[++na] = ac[i]
  more = (ne > 0 && ex2[ne] == "...")
  if (more) ne--
  bad = 0
  if (na < ne || (!more && na != ne)) bad = 1
  for (i = 1; i <= ne && i <= na && !bad; i++) {
    es = norm(ex2[i], kind); enid = nid
    for (j = 1; j <= nid; j++) { ek[j] = idk[j]; ev[j] = idv[j] }
    as = norm(ac2[i], kind)
    if (es != as || enid != nid) { bad = 1; break }
    for (j = 1; j <= nid; j++) if (!bind(ek[j], ev[j], idv[j])) { bad = 1; break }
  }
  if (rc != 0 && rc != 130 && !bad) { print "readme: " title " exited with status " rc; fails++ }
  if (bad) {
    fails++
    print "readme: " title " printed something else than the README shows"
    if (i <= ne || i <= na) print "  at line " i ":"
    print "  README:"
    for (k = 1; k <= ne; k++) print "    " ex2[k]
    if (more) print "    ..."
    print "  printed:"
    for (k = 1; k <= na; k++) print "    " ac2[k]
  }
}
/^@prog / {
  report()
  nprog++; kind = $3; title = $0; sub(/^@prog [0-9]+ [a-z]+ /, "", title)
  en = 0; an = 0; rc = 0; split("", ex); split("", ac); split("", ex2); split("", ac2)
  next
}
/^@rc / { rc = $2 + 0; next }
/^E / { ex[++en] = substr($0, 3); next }
/^E$/ { ex[++en] = ""; next }
/^A / { ac[++an] = substr($0, 3); next }
/^A$/ { ac[++an] = ""; next }
END { report(); exit fails > 0 }
' "$manifest" || errors=$((errors + 1))

if [ "$errors" -gt 0 ]; then
  echo "readme: $errors problem(s); README.md must show what the programs print"
  exit 1
fi
echo "readme: $nprog commands of README.md print what it shows"
