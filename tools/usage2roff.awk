# usage2roff.awk — turns `hazel --help` into the man page hazel(1), so the
# page and --help are one text and cannot drift. The Makefile runs
#
#   ./hazel --help | awk -v version="$(./hazel --version)" -f tools/usage2roff.awk
#
# The help text has this shape, and each part becomes a section:
#
#   usage: hazel [options]                     SYNOPSIS
#                                              (blank line)
#   A single-threaded epoll server ...         NAME (first sentence) and
#   (more lines of that paragraph)             DESCRIPTION
#
#     -p, --port PORT     TCP port ...         OPTIONS: an indented line that
#         --max-client-sessions N              starts with '-' is an option, two
#                         (continued)          or more spaces end its name;
#                                              deeper lines continue it
#
#   Paragraphs after the options               NOTES, one paragraph each

function esc(s) {
  gsub(/\\/, "\\e", s)
  gsub(/-/, "\\-", s)
  return s
}

function line_out(s) {
  s = esc(s)
  if (s ~ /^[.']/) s = "\\&" s
  print s
}

# "-p, --port PORT" -> \fB\-p\fR, \fB\-\-port\fR \fIPORT\fR
function option_name(spec,    n, w, i, out, word, comma) {
  n = split(spec, w, " ")
  out = ""
  for (i = 1; i <= n; i++) {
    word = w[i]
    comma = ""
    if (word ~ /,$/) { comma = ","; word = substr(word, 1, length(word) - 1) }
    if (word ~ /^-/) word = "\\fB" esc(word) "\\fR"
    else word = "\\fI" esc(word) "\\fR"
    out = out (i > 1 ? " " : "") word comma
  }
  return out
}

function flush_paragraph() {
  if (npara == 0) return
  if (part == "description" && !described) {
    described = 1
    name = para[1]
    for (i = 2; i <= npara; i++) name = name " " para[i]
    sub(/ \(.*/, "", name)
    sub(/\..*/, "", name)
    print ".SH NAME"
    print "hazel \\- " esc(tolower(substr(name, 1, 1)) substr(name, 2))
    print ".SH SYNOPSIS"
    print synopsis
    print ".SH DESCRIPTION"
  } else if (part == "description") {
    print ".PP"
  } else if (part == "notes") {
    if (!notes_started) { print ".SH NOTES"; notes_started = 1 }
    else print ".PP"
  }
  for (i = 1; i <= npara; i++) line_out(para[i])
  npara = 0
}

BEGIN {
  part = "synopsis"
  npara = 0
  if (version == "") version = "hazel"
  printf ".TH HAZEL 1 \"\" \"%s\" \"User Commands\"\n", esc(version)
  print ".\\\" Generated from `hazel --help` by tools/usage2roff.awk; do not edit."
}

NR == 1 {
  sub(/^usage: /, "")
  prog = $1
  $1 = ""
  sub(/^ +/, "")
  synopsis = ".B " prog "\n" esc($0)
  part = "description"
  next
}

/^[ \t]*$/ {
  flush_paragraph()
  if (part == "options") part = "notes"
  next
}

# An option: indented, starts with '-'.
/^  +-/ {
  flush_paragraph()
  if (part != "options") { print ".SH OPTIONS"; part = "options" }
  spec = $0
  sub(/^ +/, "", spec)
  desc = ""
  if (match(spec, /   */)) {
    desc = substr(spec, RSTART + RLENGTH)
    spec = substr(spec, 1, RSTART - 1)
  }
  print ".TP"
  print option_name(spec)
  if (desc != "") line_out(desc)
  next
}

# The continuation of an option's text.
part == "options" && /^  / {
  s = $0
  sub(/^ +/, "", s)
  line_out(s)
  next
}

{
  if (part == "options") part = "notes"
  para[++npara] = $0
}

END {
  flush_paragraph()
  print ".SH SEE ALSO"
  print "The README and docs/PROTOCOL.md in the hazel documentation (installed"
  print "in share/doc/hazel), and \\fBhazel\\-cli \\-\\-help\\fR."
}
