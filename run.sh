#!/usr/bin/env bash
# run.sh — the one entry point of the OSPS lab. `./run.sh help` lists what it does.
# A router: each command builds the Go program that does it (a variant, or a tool of
# common/tools/) into bin/ and runs it. Only `./run.sh test`, the list of checks CI runs, is here.
set -euo pipefail
cd "$(dirname "$0")"
BIN="$(pwd)/bin"
STATICCHECK=honnef.co/go/tools/cmd/staticcheck@v0.8.2

usage() { cat <<'USAGE'
OSPS lab: one service built three ways (docs/README.md).

  ./run.sh v1 | v2 | v3            narrated demo: serve --trace on 127.0.0.1:$PORT (default 2222), one client
                                   session (requetetype1, requetetype2 200000, STATS), SIGTERM, nothing left
  ./run.sh VARIANT serve [flags]   run that variant's dispatcher (and its workers), on $PORT if set
  ./run.sh VARIANT client [flags] REQUEST...
                                   run one client session against 127.0.0.1:$PORT if set
  ./run.sh chaos [v1|v2|v3]        narrated faults: kill -9 one worker, kill -STOP another, and watch
                                   --watchdog replace both (default v3)
  ./run.sh xray VARIANT [flags]    the processes, pipes, sockets and segment, read from /proc
                                   (--mermaid: a flowchart; --pid PID: a running dispatcher)
  ./run.sh top VARIANT [flags]     the slots live, read from the segment (a small load runs; --pid PID
                                   or --shmid N: a running server; --frames N: N, then exit)
  ./run.sh diagram VARIANT [REQUEST...]
                                   one traced session drawn as a Mermaid sequenceDiagram
  ./run.sh test                    gofmt, go vet, staticcheck, go test -race ./...
  ./run.sh bench [--quick] [--verbose] [--csv FILE] [--md FILE] [--svg FILE]
                                   measure floor, fdpass, prefork, v1, v2, v3, v1's C twin, a C floor (cc):
                                   about 12 min (--quick: 1 min); print the verdict, with --verbose the
                                   tables (docs/comparison.md)
  ./run.sh net [v1|v2|v3|all]      as root, the variants across network namespaces: flat, client behind NAT,
                                   server behind a firewall, both; each cell expected or UNEXPECTED against
                                   docs/network.md (four fail on purpose; default all)
  ./run.sh check VARIANT [--bin PATH] [--tree DIR] [--only GROUP,...] [--json FILE]
                                   the grader: the conformance checks, each failure with its docs/ section, then
                                   Score: X/Y (--bin: any program, any language; --json: for a script; <= 4 min)
  ./run.sh grade DIR [--only GROUP,...]
                                   the grader on every submission in DIR: DIR/grades.md and DIR/grades.csv
  ./run.sh lab list                the labs: write a piece of the real code again (docs/lab.md)
  ./run.sh lab start NAME          copy the repository to lab/NAME/, the lab's region cut out
  ./run.sh lab check NAME [--json FILE]
                                   the grader on lab/NAME/, with the lab's check group
  ./run.sh handout OUT             the students' copy in OUT: a new git repository, every lab a stub, no
                                   reference code, no docs/answers.md (docs/teaching.md)
  ./run.sh exercises [N ...]       run the exercises of docs/exercises.md as written, and check what the page
                                   promises (scratch copy, ports of their own)
  ./run.sh wait PORT               until the server on 127.0.0.1:PORT answers STATS, as after its ready line
                                   (at most 120 s; it says what it sees: nothing listening, no answer)
  ./run.sh build | clean           build the three binaries into bin/ | remove bin/
  ./run.sh help                    this text

VARIANT is v1 (relay), v2 (worker calls client) or v3 (client calls worker).
Ports (many people may share a machine: export a PORT of your own, docs/lab.md): PORT (default
2222) is the port of the demos, serve and client; v3's workers use PORT+1 to PORT+N (N = --workers,
default 4); xray, top, diagram and exercises (PORT to PORT+4) use PORT if set, else free ports;
check and bench use free ports; net uses 2222 in network namespaces of its own.
Every command takes --help.
USAGE
}

# build NAME...: each of v1, v2, v3 (a variant) or NAME (common/tools/NAME) into bin/; $built is the last.
build() {
  local n
  mkdir -p "$BIN"
  for n in "$@"; do
    case "$n" in v1) n=v1-relay ;; v2) n=v2-worker-calls-client ;; v3) n=v3-client-calls-worker ;; *) n=common/tools/$n ;; esac
    built="$BIN/${n##*/}"; go build -o "$built" "./$n"
  done
}

say() { if [ -t 1 ]; then printf '\n\033[1m== %s\033[0m\n' "$*"; else printf '\n== %s\n' "$*"; fi; }

run_tests() {
  say "gofmt"
  local unformatted sc; unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
  if [ -n "$unformatted" ]; then echo "gofmt would change: $unformatted" >&2; return 1; fi
  say "go vet ./..."; go vet ./...
  say "staticcheck ./... ($STATICCHECK)"
  # Installed at the pinned version (PATH, GOBIN or GOPATH/bin), it runs as is, offline;
  # else go run fetches it once (docs/teaching.md, "A room without internet").
  for sc in "$(command -v staticcheck || true)" "$(go env GOBIN)/staticcheck" "$(go env GOPATH)/bin/staticcheck" ""; do
    [ -x "$sc" ] && "$sc" -version 2>/dev/null | grep -qF "(${STATICCHECK##*@v})" && break
  done
  if [ -n "$sc" ]; then "$sc" ./...; else go run "$STATICCHECK" ./...; fi
  if [ -f HANDOUT ]; then handout_tests; return; fi
  say "go test -race ./..."; go test -race -count=1 -timeout 8m ./...
}

# handout_tests: in the students' copy (./run.sh handout) the labs are stubs: every test compiles, the
# packages that import no lab's package and build no variant run theirs; lab check NAME grades a lab.
handout_tests() {
  say "go test: every test compiles (the students' copy: the labs are stubs)"; go test -count=1 -run '^$' ./... >/dev/null
  local pkgs; pkgs=$(go list -f '{{.ImportPath}}{{range .Deps}} {{.}}{{end}}{{range .TestImports}} {{.}}{{end}}{{range .XTestImports}} {{.}}{{end}}' ./... |
    awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^osps\/(common\/pingpong|v[123]-)/) next }
         $1 !~ /^osps\/common\/tools\/(netlab|osps-grade|osps-live)$/ { print $1 }')
  say "go test -race: the packages that need no lab"; go test -race -count=1 -timeout 8m $pkgs
  say "the labs: stubs here, so they fail until written (./run.sh lab check NAME, docs/lab.md)"
}

cmd=${1:-help}
[ $# -gt 0 ] && shift
# test, build and clean take no argument: --help prints this usage.
case "$cmd:${1:-}" in test:-h|test:--help|build:-h|build:--help|clean:-h|clean:--help) usage; exit 0 ;; esac
case "$cmd" in
  # PORT, when set, comes first: a --port or --server written after it wins.
  v1|v2|v3) case "${1:-}" in
      serve) shift; build "$cmd"; exec "$built" serve ${PORT:+--port "$PORT"} "$@" ;;
      client) shift; build "$cmd"; exec "$built" client ${PORT:+--server "127.0.0.1:$PORT"} "$@" ;;
      *) build "$cmd" osps-live; exec "$built" demo --bin "$BIN" "$cmd" "$@" ;;
    esac ;;
  # common/tools/osps-live: the narrated runs and the instruments (its main.go lists them).
  # Only the variant named (its first v1, v2 or v3 word; v3, chaos's default, if none) is built.
  chaos|xray|top|diagram) v=v3; for a in "$@"; do case "$a" in v1|v2|v3) v=$a; break ;; esac; done
    build "$v" osps-live; exec "$built" "$cmd" --bin "$BIN" "$@" ;;
  wait) build osps-live; exec "$built" wait "$@" ;;
  test) run_tests ;;
  net) build v1 v2 v3; exec bash common/tools/netlab/netlab.sh --bin "$BIN" "$@" ;;
  bench) build osps-bench; exec "$built" run --bin "$BIN" "$@" ;;
  check) build osps-grade; exec "$built" "$@" ;;
  grade) build osps-grade; exec "$built" grade "$@" ;;
  lab) build osps-grade osps-lab; exec "$built" --grader "$BIN/osps-grade" "$@" ;;
  handout|exercises) build osps-lab; exec "$built" "$cmd" "$@" ;;
  build) build v1 v2 v3; echo "built into bin/:" $(ls "$BIN") ;;
  clean) rm -rf "$BIN" ;;
  help|-h|--help) usage ;;
  *) echo "run.sh: unknown command '$cmd'" >&2; usage >&2; exit 2 ;;
esac
