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
  ./run.sh test                    gofmt, go vet, staticcheck, go test -race ./...
  ./run.sh build                   build the three binaries into bin/
  ./run.sh clean                   remove bin/
  ./run.sh help                    this text

VARIANT is v1 (relay), v2 (worker calls client) or v3 (client calls worker).
Environment: PORT (default 2222) is the demo's dispatcher port.
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

# demo v1 [serve flags...]: the narrated run.
demo() {
  local v=$1; shift
  local dir; dir=$(variant_dir "$v")
  local port=${PORT:-2222}
  build "$dir"
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    echo "run.sh: port $port on 127.0.0.1 is taken (another serve still running?)." >&2
    echo "        Stop it, or pick another port: PORT=2300 ./run.sh $v" >&2
    exit 1
  fi
  DEMO_OUT=$(mktemp "${TMPDIR:-/tmp}/osps-demo.XXXXXX")
  local out=$DEMO_OUT
  trap demo_cleanup EXIT
  local before; before=$(shm_ids)

  say "0. start the dispatcher: $dir serve --trace --port $port $*"
  echo "   It creates one System V shared-memory segment, marks it for removal at once,"
  echo "   and re-executes itself once per worker. Lines 'vN step K' are the steps of docs/$dir.md."
  "$BIN/$dir" serve --trace --port "$port" "$@" >"$out" &
  DEMO_PID=$!
  local pid=$DEMO_PID
  local i
  for i in $(seq 1 100); do
    grep -q '^ready ' "$out" 2>/dev/null && break
    kill -0 "$pid" 2>/dev/null || { echo "run.sh: serve exited before it was ready" >&2; exit 1; }
    sleep 0.1
  done
  grep -q '^ready ' "$out" || { echo "run.sh: serve did not say ready within 10s" >&2; exit 1; }
  local addr; addr=$(sed -n 's/^ready //p' "$out")
  echo "   serve printed on stdout: ready $addr"
  sleep 0.2

  local ours; ours=$(comm -13 <(echo "$before") <(shm_ids) | tr '\n' ' ')
  say "what the kernel shows while it runs (ipcs -m): status 'dest' = already marked for removal"
  ipcs -m 2>/dev/null | sed -n '3,$p' | grep -v '^$' || true
  echo "   our segment: shmid $ours"
  local workers; workers=$(pgrep -P "$pid" | tr '\n' ' ' || true)
  echo "   dispatcher pid $pid, worker pids: $workers"

  say "1. a client session: requetetype1, requetetype2 200000, STATS (client --trace)"
  local status=0
  "$BIN/$dir" client --trace --server "$addr" requetetype1 "requetetype2 200000" STATS || status=$?
  sleep 0.2

  say "2. SIGTERM: the dispatcher drains, stops its workers, and exits"
  kill -TERM "$pid"
  local serve_status=0
  wait "$pid" || serve_status=$?
  DEMO_PID=""
  echo "   serve exited with status $serve_status"
  local left=""
  for w in $workers; do kill -0 "$w" 2>/dev/null && left="$left $w"; done
  if [ -z "$left" ]; then echo "   workers reaped: none of $workers is left"; else echo "   workers still alive:$left"; status=1; fi
  local id gone=yes
  for id in $ours; do shm_ids | grep -qx "$id" && gone=no; done
  if [ "$gone" = yes ]; then
    echo "   ipcs -m no longer lists shmid $ours: the kernel freed it when the last process detached"
  else
    echo "   ipcs -m still lists shmid $ours:"; ipcs -m; status=1
  fi
  [ "$serve_status" -eq 0 ] || status=1
  if [ "$status" -eq 0 ]; then say "done: every answer checked, nothing left behind"; else say "something failed (see above)"; fi
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
  v1|v2|v3)
    dir=$(variant_dir "$cmd")
    case "${1:-}" in
      serve|client) role=$1; shift; build "$dir"; exec "$BIN/$dir" "$role" "$@" ;;
      *) demo "$cmd" "$@" ;;
    esac
    ;;
  test) run_tests ;;
  build) for v in v1 v2 v3; do d=$(variant_dir $v); [ -d "$d" ] && build "$d"; done; echo "built into bin/: $(ls "$BIN")" ;;
  clean) rm -rf "$BIN" ;;
  help|-h|--help) usage ;;
  *) echo "run.sh: unknown command '$cmd'" >&2; usage >&2; exit 2 ;;
esac
