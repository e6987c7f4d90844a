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

  ./run.sh v1 | v2 | v3            narrated demo: serve --trace on 127.0.0.1:2222, one client
                                   session (requetetype1, requetetype2 200000, STATS), SIGTERM
  ./run.sh VARIANT serve [flags]   run that variant's dispatcher (and its workers)
  ./run.sh VARIANT client [flags] REQUEST...
                                   run one client session against it
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
                                   prints the table (docs/network.md; default all)
  ./run.sh check VARIANT [--bin PATH] [--tree DIR] [--only GROUP,...]
                                   the grader: the conformance checks, one line each, with the
                                   docs/ section of a failure (--bin: any program, any language)
  ./run.sh lab list                the labs: write a piece of the real code again (docs/lab.md)
  ./run.sh lab start NAME          copy the repository to lab/NAME/, the lab's region cut out
  ./run.sh lab check NAME          the grader on lab/NAME/, with the lab's check group
  ./run.sh exercises [N ...]       run the exercises of docs/exercises.md as written, and check
                                   what the page promises (scratch copy, ports of their own)
  ./run.sh wait PORT               wait until the server on 127.0.0.1:PORT answers, that is until
                                   serve has printed its ready line (at most 120 s)
  ./run.sh build                   build the three binaries into bin/
  ./run.sh clean                   remove bin/
  ./run.sh help                    this text

VARIANT is v1 (relay), v2 (worker calls client) or v3 (client calls worker).
Environment: PORT (default 2222) is the demo's dispatcher port; xray, top and diagram
use PORT if it is set, else a free port.
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

# shm_ids: the ids of the System V segments that exist now.
shm_ids() { ipcs -m 2>/dev/null | awk '$2 ~ /^[0-9]+$/ {print $2}' | sort; }

DEMO_PID=""
DEMO_OUT=""
demo_cleanup() {
  if [ -n "$DEMO_PID" ] && kill -0 "$DEMO_PID" 2>/dev/null; then
    kill -TERM "$DEMO_PID" 2>/dev/null || true
    wait "$DEMO_PID" 2>/dev/null || true
  fi
  [ -z "$DEMO_OUT" ] || rm -f "$DEMO_OUT"
}

# start_serve DIR FLAGS...: start DIR's dispatcher in the background on
# 127.0.0.1:$PORT, wait for its "ready" line; sets DEMO_PID, DEMO_ADDR,
# DEMO_SHM (the id of its segment) and DEMO_WORKERS.
start_serve() {
  local dir=$1; shift
  local port=${PORT:-2222}
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    echo "run.sh: port $port on 127.0.0.1 is taken (another serve still running?)." >&2
    echo "        Stop it, or pick another port: PORT=2300 ./run.sh ..." >&2
    exit 1
  fi
  DEMO_OUT=$(mktemp "${TMPDIR:-/tmp}/osps-demo.XXXXXX")
  trap demo_cleanup EXIT
  local before; before=$(shm_ids)
  "$BIN/$dir" serve --port "$port" "$@" >"$DEMO_OUT" &
  DEMO_PID=$!
  local i
  for i in $(seq 1 100); do
    grep -q '^ready ' "$DEMO_OUT" 2>/dev/null && break
    kill -0 "$DEMO_PID" 2>/dev/null || { echo "run.sh: serve exited before it was ready" >&2; exit 1; }
    sleep 0.1
  done
  grep -q '^ready ' "$DEMO_OUT" || { echo "run.sh: serve did not say ready within 10s" >&2; exit 1; }
  DEMO_ADDR=$(sed -n 's/^ready //p' "$DEMO_OUT")
  DEMO_SHM=$(comm -13 <(echo "$before") <(shm_ids) | tr '\n' ' ')
  DEMO_WORKERS=$(pgrep -P "$DEMO_PID" | tr '\n' ' ' || true)
  echo "   serve printed on stdout: ready $DEMO_ADDR"
}

# stop_serve: SIGTERM, then check that every worker was reaped and the
# segment is gone. Returns non-zero if anything was left.
stop_serve() {
  local status=0 serve_status=0
  DEMO_WORKERS=$(pgrep -P "$DEMO_PID" | tr '\n' ' ' || true) # the workers of now (some may be respawned ones)
  kill -TERM "$DEMO_PID"
  wait "$DEMO_PID" || serve_status=$?
  DEMO_PID=""
  echo "   serve exited with status $serve_status"
  [ "$serve_status" -eq 0 ] || status=1
  local left="" w
  for w in $DEMO_WORKERS; do kill -0 "$w" 2>/dev/null && left="$left $w"; done
  if [ -z "$left" ]; then echo "   workers reaped: none of the pids $DEMO_WORKERS is left"; else echo "   workers still alive:$left"; status=1; fi
  local id gone=yes
  for id in $DEMO_SHM; do shm_ids | grep -qx "$id" && gone=no; done
  if [ "$gone" = yes ]; then
    echo "   ipcs -m no longer lists shmid $DEMO_SHM: the kernel freed it when the last process detached"
  else
    echo "   ipcs -m still lists shmid $DEMO_SHM:"; ipcs -m; status=1
  fi
  return "$status"
}

# demo v1 [serve flags...]: the narrated run.
demo() {
  local v=$1; shift
  local dir; dir=$(variant_dir "$v")
  build "$dir"
  say "0. start the dispatcher: $dir serve --trace $*"
  echo "   It creates one System V shared-memory segment, marks it for removal at once,"
  echo "   and re-executes itself once per worker. Lines 'vN step K' are the steps of docs/$dir.md."
  start_serve "$dir" --trace "$@"
  sleep 0.2
  say "what the kernel shows while it runs (ipcs -m): status 'dest' = already marked for removal"
  ipcs -m 2>/dev/null | sed -n '3,$p' | grep -v '^$' || true
  echo "   our segment: shmid $DEMO_SHM; dispatcher pid $DEMO_PID, worker pids: $DEMO_WORKERS"

  say "1. a client session: requetetype1, requetetype2 200000, STATS (client --trace)"
  local status=0
  "$BIN/$dir" client --trace --server "$DEMO_ADDR" requetetype1 "requetetype2 200000" STATS || status=$?
  sleep 0.2

  say "2. SIGTERM: the dispatcher drains, stops its workers, and exits"
  stop_serve || status=1
  if [ "$status" -eq 0 ]; then say "done: every answer checked, nothing left behind"; else say "something failed (see above)"; fi
  return "$status"
}

# chaos v3: a crash and a hang, healed by the watchdog, narrated.
chaos_demo() {
  local v=$1; shift
  local dir; dir=$(variant_dir "$v")
  build "$dir"
  local client=("$BIN/$dir" client --server)
  say "0. start the dispatcher with its watchdog: $dir serve --workers 2 --watchdog --hang-timeout 2s $*"
  start_serve "$dir" --workers 2 --watchdog --hang-timeout 2s "$@"
  "${client[@]}" "$DEMO_ADDR" STATS
  local status=0
  local w0 w1
  w0=$("${client[@]}" "$DEMO_ADDR" STATS | sed -n 's/^worker=0 pid=\([0-9]*\).*/\1/p')
  w1=$("${client[@]}" "$DEMO_ADDR" STATS | sed -n 's/^worker=1 pid=\([0-9]*\).*/\1/p')

  say "1. a crash: kill -9 worker#0 (pid $w0)"
  echo "   The dispatcher reads end of file on its pong pipe and Wait reaps it at once;"
  echo "   the watchdog starts a new worker in slot 0 (see the log lines above STATS)."
  kill -9 "$w0"
  sleep 0.5
  "${client[@]}" "$DEMO_ADDR" STATS requetetype1 || status=1

  say "2. a hang: kill -STOP worker#1 (pid $w1): alive, but it makes no progress"
  echo "   Its heartbeat word in the slot stops moving. After --hang-timeout (2s) the watchdog"
  echo "   sends SIGTERM, then SIGKILL (a stopped process only dies of SIGKILL), and respawns it."
  kill -STOP "$w1"
  local i
  for i in $(seq 1 50); do
    "${client[@]}" "$DEMO_ADDR" STATS | grep -q '^worker=1 .*restarts=1' && break
    sleep 0.1
  done
  "${client[@]}" "$DEMO_ADDR" STATS requetetype1 "requetetype2 100000" || status=1
  "${client[@]}" "$DEMO_ADDR" STATS | grep -q '^worker=1 .*restarts=1' || { echo "   worker#1 was not replaced"; status=1; }

  say "3. SIGTERM: drain, stop the workers, exit"
  stop_serve || status=1
  if [ "$status" -eq 0 ]; then say "done: both faults healed, every answer checked, nothing left behind"; else say "something failed (see above)"; fi
  return "$status"
}

run_tests() {
  say "gofmt"
  local unformatted; unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
  if [ -n "$unformatted" ]; then echo "gofmt would change: $unformatted" >&2; return 1; fi
  say "go vet ./..."
  go vet ./...
  say "staticcheck ./... ($STATICCHECK)"
  go run "$STATICCHECK" ./...
  say "go test -race ./..."
  go test -race -count=1 -timeout 8m ./...
}

cmd=${1:-help}
[ $# -gt 0 ] && shift
case "$cmd" in
  chaos)
    v=${1:-v3}; [ $# -gt 0 ] && shift
    variant_dir "$v" >/dev/null || { echo "run.sh: chaos takes v1, v2 or v3" >&2; exit 2; }
    chaos_demo "$v" "$@"
    ;;
  v1|v2|v3)
    dir=$(variant_dir "$cmd")
    case "${1:-}" in
      serve|client) role=$1; shift; build "$dir"; exec "$BIN/$dir" "$role" "$@" ;;
      *) demo "$cmd" "$@" ;;
    esac
    ;;
  xray|top|diagram)
    # The instruments of common/tools/live/: they start the variant's own
    # binary (VARIANT), or look at a running one (--pid, --shmid).
    for v in v1 v2 v3; do build "$(variant_dir $v)"; done
    go build -o "$BIN/osps-live" ./common/tools/live
    exec "$BIN/osps-live" "$cmd" --bin "$BIN" "$@"
    ;;
  test) run_tests ;;
  net)
    for v in v1 v2 v3; do build "$(variant_dir $v)"; done
    exec bash common/tools/netlab/netlab.sh --bin "$BIN" "$@"
    ;;
  bench) mkdir -p "$BIN"; go build -o "$BIN/osps-bench" ./common/tools/bench; exec "$BIN/osps-bench" run --bin "$BIN" "$@" ;;
  check) mkdir -p "$BIN"; go build -o "$BIN/osps-grade" ./common/tools/grader; exec "$BIN/osps-grade" "$@" ;;
  lab) mkdir -p "$BIN"; go build -o "$BIN/osps-grade" ./common/tools/grader; go build -o "$BIN/osps-lab" ./common/tools/labs
       exec "$BIN/osps-lab" --grader "$BIN/osps-grade" "$@" ;;
  exercises) mkdir -p "$BIN"; go build -o "$BIN/osps-lab" ./common/tools/labs; exec "$BIN/osps-lab" exercises "$@" ;;
  wait)
    # A server is ready once it answers: a STATS on a fresh session gets
    # its "OK" only after serve has started its workers and printed
    # "ready" (its listening socket may accept connections a little earlier).
    port=${1:?usage: ./run.sh wait PORT}
    for _ in $(seq 1 1200); do
      if answer=$({ exec 3<>"/dev/tcp/127.0.0.1/$port" && printf 'STATS\nQUIT\n' >&3 && IFS= read -r -t 5 l <&3 && echo "$l"; } 2>/dev/null) &&
        [ "${answer#OK }" != "$answer" ]; then exit 0; fi
      sleep 0.1
    done
    echo "run.sh: nothing answers on 127.0.0.1:$port after 120 s (did serve fail to start?)" >&2; exit 1 ;;
  build) for v in v1 v2 v3; do d=$(variant_dir $v); [ -d "$d" ] && build "$d"; done; echo "built into bin/: $(ls "$BIN")" ;;
  clean) rm -rf "$BIN" ;;
  help|-h|--help) usage ;;
  *) echo "run.sh: unknown command '$cmd'" >&2; usage >&2; exit 2 ;;
esac
