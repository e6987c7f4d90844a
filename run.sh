#!/usr/bin/env bash
# run.sh — the one entry point of the OSPS lab. `./run.sh help` lists what it does.
set -euo pipefail
cd "$(dirname "$0")"
ROOT=$(pwd)
BIN="$ROOT/bin"
STATICCHECK=honnef.co/go/tools/cmd/staticcheck@v0.8.2

usage() {
  cat <<'USAGE'
OSPS lab: one service built three ways (docs/README.md).

  ./run.sh v1 | v2 | v3            narrated demo: serve --trace on 127.0.0.1:$PORT (default 2222),
                                   one client session (requetetype1, requetetype2 200000, STATS),
                                   SIGTERM, and a check that nothing is left
  ./run.sh VARIANT serve [flags]   run that variant's dispatcher (and its workers), on $PORT if set
  ./run.sh VARIANT client [flags] REQUEST...
                                   run one client session against 127.0.0.1:$PORT if set
  ./run.sh chaos [v1|v2|v3]        narrated faults: kill -9 one worker, kill -STOP another,
                                   and watch --watchdog replace both (default v3)
  ./run.sh xray VARIANT [flags]    the processes, pipes, sockets and segment, read from /proc
                                   (--mermaid: a flowchart; --pid PID: a running dispatcher)
  ./run.sh top VARIANT [flags]     the slots live, read from the segment (a small load runs;
                                   --pid PID or --shmid N: a running server; --frames N: N, then exit)
  ./run.sh diagram VARIANT [REQUEST...]
                                   one traced session drawn as a Mermaid sequenceDiagram
  ./run.sh test                    gofmt, go vet, staticcheck, go test -race ./...
  ./run.sh bench [--quick] [--verbose] [--csv FILE] [--md FILE] [--svg FILE]
                                   measure floor, fdpass, prefork, v1, v2, v3, and v1's C twin
                                   and a C floor (built with cc) (about 12 min; --quick: about
                                   1 min); print the verdict, and with --verbose the tables
                                   (docs/comparison.md)
  ./run.sh net [v1|v2|v3|all]      as root: the variants across network namespaces (client, router,
                                   server), flat, client behind NAT, server behind a firewall, both;
                                   prints the table, each row marked expected or UNEXPECTED against
                                   docs/network.md (four cells fail on purpose; default all)
  ./run.sh check VARIANT [--bin PATH] [--tree DIR] [--only GROUP,...] [--json FILE]
                                   the grader: the conformance checks, one line each, with the
                                   docs/ section of a failure, then Score: X/Y (--bin: any program,
                                   any language; --json: every result, for a script; at most 4 min)
  ./run.sh grade DIR [--only GROUP,...]
                                   the grader on every submission in DIR at once (a tree, or a
                                   folder holding a program): DIR/grades.md and DIR/grades.csv
  ./run.sh lab list                the labs: write a piece of the real code again (docs/lab.md)
  ./run.sh lab start NAME          copy the repository to lab/NAME/, the lab's region cut out
  ./run.sh lab check NAME [--json FILE]
                                   the grader on lab/NAME/, with the lab's check group
  ./run.sh handout OUT             the students' copy in OUT: a new git repository, every lab a
                                   stub, no reference code, no docs/answers.md (docs/teaching.md)
  ./run.sh exercises [N ...]       run the exercises of docs/exercises.md as written, and check
                                   what the page promises (scratch copy, ports of their own)
  ./run.sh wait PORT               wait until the server on 127.0.0.1:PORT answers, that is until
                                   serve has printed its ready line (at most 120 s; it says what it
                                   sees: nothing listening yet, or no answer)
  ./run.sh build                   build the three binaries into bin/
  ./run.sh clean                   remove bin/
  ./run.sh help                    this text

VARIANT is v1 (relay), v2 (worker calls client) or v3 (client calls worker).
Ports (many people may share the machine: export a PORT of your own, docs/lab.md):
  PORT (default 2222) is the dispatcher's port of the demos, of serve and of client;
  v3's workers listen on PORT+1 to PORT+N (N = --workers, default 4). xray, top and
  diagram use PORT if it is set, else a free port; exercises use PORT to PORT+4 if PORT
  is set, else free ones; check and bench start every server on a free port (port 0);
  net uses 2222 inside network namespaces of its own, where nobody else listens.
Every command takes --help.
USAGE
}

# variant_dir v1 -> v1-relay
variant_dir() {
  case "$1" in
    v1) echo v1-relay ;;
    v2) echo v2-worker-calls-client ;;
    v3) echo v3-client-calls-worker ;;
    *) return 1 ;;
  esac
}

build() {
  local dir=$1
  [ -d "$ROOT/$dir" ] || { echo "run.sh: $dir does not exist yet" >&2; exit 1; }
  mkdir -p "$BIN"
  go build -o "$BIN/$dir" "./$dir"
}

say() {
  if [ -t 1 ]; then printf '\n\033[1m== %s\033[0m\n' "$*"; else printf '\n== %s\n' "$*"; fi
}

# live: build the three variants and the instruments' binary, osps-live.
live() {
  for v in v1 v2 v3; do build "$(variant_dir $v)"; done
  go build -o "$BIN/osps-live" ./common/tools/osps-live
}

# wait_port PORT: until a STATS on a fresh session gets its "OK", that is
# until serve has started its workers and printed "ready" (its listening
# socket may accept connections a little earlier). It says at once when
# nothing listens yet, then every 10 s what it sees; at most 120 s.
wait_port() {
  local port=$1 state="" last="" said=0 answer start=$SECONDS
  while [ $((SECONDS - start)) -lt 120 ]; do
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      state="nothing listens on 127.0.0.1:$port yet (connection refused)"
    elif answer=$({ exec 3<>"/dev/tcp/127.0.0.1/$port" && printf 'STATS\nQUIT\n' >&3 && IFS= read -r -t 2 l <&3 && echo "$l"; } 2>/dev/null) &&
      [ "${answer#OK }" != "$answer" ]; then
      [ "$last" = "" ] || echo "run.sh wait: 127.0.0.1:$port answers after $((SECONDS - start)) s" >&2
      return 0
    else
      state="127.0.0.1:$port accepts connections but does not answer STATS with OK (${answer:-no answer within 2 s})"
    fi
    if [ "$state" != "$last" ] || [ $((SECONDS - said)) -ge 10 ]; then
      echo "run.sh wait: $((SECONDS - start)) s: $state; waiting, at most 120 s" >&2
      last=$state said=$SECONDS
    fi
    sleep 0.1
  done
  echo "run.sh wait: nothing answers on 127.0.0.1:$port after 120 s: $state (did serve fail to start? was it given --port $port?)" >&2
  return 1
}

run_tests() {
  say "gofmt"
  local unformatted; unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
  if [ -n "$unformatted" ]; then echo "gofmt would change: $unformatted" >&2; return 1; fi
  say "go vet ./..."
  go vet ./...
  say "staticcheck ./... ($STATICCHECK)"
  # Installed at the pinned version (PATH, GOBIN or GOPATH/bin), it runs as is, offline;
  # else go run fetches it once (docs/teaching.md, "A room without internet").
  local sc installed=""
  for sc in "$(command -v staticcheck || true)" "$(go env GOBIN)/staticcheck" "$(go env GOPATH)/bin/staticcheck"; do
    if [ -x "$sc" ] && "$sc" -version 2>/dev/null | grep -qF "(${STATICCHECK##*@v})"; then installed=$sc; break; fi
  done
  if [ -n "$installed" ]; then "$installed" ./...; else go run "$STATICCHECK" ./...; fi
  if [ -f HANDOUT ]; then handout_tests; return; fi
  say "go test -race ./..."
  go test -race -count=1 -timeout 8m ./...
}

# handout_tests: the tests of the students' copy (./run.sh handout). Its
# lab regions are stubs, so no server works until the labs are written:
# every test is compiled, the tests of the packages that need no lab run
# (none of a lab's packages among their imports, and no variant built by
# their tests), and each lab is graded by ./run.sh lab check NAME.
handout_tests() {
  say "go test: every test compiles (the students' copy: the labs are stubs)"
  go test -count=1 -run '^$' ./... >/dev/null
  local pkgs
  pkgs=$(go list -f '{{.ImportPath}}{{range .Deps}} {{.}}{{end}}{{range .TestImports}} {{.}}{{end}}{{range .XTestImports}} {{.}}{{end}}' ./... |
    awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^osps\/(common\/pingpong|v[123]-)/) next }
         $1 !~ /^osps\/common\/tools\/(netlab|osps-grade|osps-live)$/ { print $1 }')
  say "go test -race: the packages that need no lab"
  go test -race -count=1 -timeout 8m $pkgs
  say "the labs: stubs here, so they fail until written (./run.sh lab check NAME, docs/lab.md)"
}

cmd=${1:-help}
[ $# -gt 0 ] && shift
# test, build and clean take no argument: --help prints this usage.
case "$cmd:${1:-}" in test:-h|test:--help|build:-h|build:--help|clean:-h|clean:--help) usage; exit 0 ;; esac
case "$cmd" in
  chaos)
    # The narrated runs are Go (common/tools/osps-live/demo.go): it finds its
    # segment and workers by the dispatcher's pid, so two demos at once
    # on one machine (with two PORTs) do not mix them up.
    v=${1:-v3}; [ $# -gt 0 ] && shift
    case "$v" in -h|--help) live; exec "$BIN/osps-live" chaos --help ;; esac
    variant_dir "$v" >/dev/null || { echo "run.sh: chaos takes v1, v2 or v3 (default v3)" >&2; exit 2; }
    live; exec "$BIN/osps-live" chaos --bin "$BIN" "$v" "$@"
    ;;
  v1|v2|v3)
    dir=$(variant_dir "$cmd")
    case "${1:-}" in
      # PORT, when set, comes first: a --port or --server written after it wins.
      serve) shift; build "$dir"; exec "$BIN/$dir" serve ${PORT:+--port "$PORT"} "$@" ;;
      client) shift; build "$dir"; exec "$BIN/$dir" client ${PORT:+--server "127.0.0.1:$PORT"} "$@" ;;
      -h|--help) live; exec "$BIN/osps-live" demo --help ;;
      *) live; exec "$BIN/osps-live" demo --bin "$BIN" "$cmd" "$@" ;;
    esac
    ;;
  xray|top|diagram)
    # The instruments of common/tools/osps-live/: they start the variant's own
    # binary (VARIANT) on PORT (or a free port), or look at a running one
    # (--pid, --shmid).
    live; exec "$BIN/osps-live" "$cmd" --bin "$BIN" "$@"
    ;;
  test) run_tests ;;
  net)
    for v in v1 v2 v3; do build "$(variant_dir $v)"; done
    exec bash common/tools/netlab/netlab.sh --bin "$BIN" "$@"
    ;;
  bench) mkdir -p "$BIN"; go build -o "$BIN/osps-bench" ./common/tools/osps-bench; exec "$BIN/osps-bench" run --bin "$BIN" "$@" ;;
  check) mkdir -p "$BIN"; go build -o "$BIN/osps-grade" ./common/tools/osps-grade; exec "$BIN/osps-grade" "$@" ;;
  grade) mkdir -p "$BIN"; go build -o "$BIN/osps-grade" ./common/tools/osps-grade; exec "$BIN/osps-grade" grade "$@" ;;
  lab) mkdir -p "$BIN"; go build -o "$BIN/osps-grade" ./common/tools/osps-grade; go build -o "$BIN/osps-lab" ./common/tools/osps-lab
       exec "$BIN/osps-lab" --grader "$BIN/osps-grade" "$@" ;;
  handout) mkdir -p "$BIN"; go build -o "$BIN/osps-lab" ./common/tools/osps-lab; exec "$BIN/osps-lab" handout "$@" ;;
  exercises) mkdir -p "$BIN"; go build -o "$BIN/osps-lab" ./common/tools/osps-lab; exec "$BIN/osps-lab" exercises "$@" ;;
  wait)
    case "${1:-}" in
      -h|--help) echo "Usage: ./run.sh wait PORT    wait until the server on 127.0.0.1:PORT answers STATS (at most 120 s)"; exit 0 ;;
      ''|-*) echo "run.sh wait: missing PORT" >&2; echo "Usage: ./run.sh wait PORT    wait until the server on 127.0.0.1:PORT answers STATS (at most 120 s)" >&2; exit 2 ;;
    esac
    [[ "$1" =~ ^[0-9]+$ ]] && [ "$1" -ge 1 ] && [ "$1" -le 65535 ] || { echo "run.sh wait: $1 is not a TCP port" >&2; exit 2; }
    [ $# -eq 1 ] || { echo "run.sh wait: one PORT only" >&2; exit 2; }
    wait_port "$1" ;;
  build) for v in v1 v2 v3; do d=$(variant_dir $v); [ -d "$d" ] && build "$d"; done; echo "built into bin/: $(ls "$BIN")" ;;
  clean) rm -rf "$BIN" ;;
  help|-h|--help) usage ;;
  *) echo "run.sh: unknown command '$cmd'" >&2; usage >&2; exit 2 ;;
esac
