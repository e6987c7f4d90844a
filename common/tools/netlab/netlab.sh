#!/usr/bin/env bash
# netlab.sh demonstrates the three designs across a real (if small)
# network: three Linux network namespaces (a client host, a router host,
# a server host) joined by veth pairs, addressed only from the
# documentation ranges, in four scenarios: flat, client behind NAT,
# server behind a firewall, both (docs/network.md). For each variant and
# scenario it runs one client session and, when it works, two loads, and
# prints the table. Everything it builds lives inside its namespaces, and
# the namespaces are deleted on every path (trap on EXIT, HUP, INT, PIPE, TERM).
#
#   netlab.sh --bin DIR [--tag NAME] [--results FILE] [--no-load] [--no-delay] [-v] [v1|v2|v3|all]
#
# Exit status: 0 when the matrix is the one docs/network.md expects, 1 when it is not,
# 2 when this machine cannot build the network (not root, no namespaces).
set -euo pipefail

usage() {
  cat <<'USAGE'
usage: netlab.sh --bin DIR [options] [v1|v2|v3|all]
  --bin DIR        where the three variant binaries are (./run.sh net builds them into bin/)
  --tag NAME       prefix of the namespace names (default osps<pid>: two runs never collide)
  --results FILE   also write one tab-separated line per variant and scenario
  --no-load        skip the two loads (only the one-session check)
  --no-delay       skip the second table (5 ms of netem delay on the public link)
  -v               print every ip / nft / tc command as it runs
  --expected       print what docs/network.md expects, "v2 nat failed" per line, and exit
                   (no root needed: its test reads the page through it)
  --short-error LINE  print LINE as a cell of the table shows it, and exit
USAGE
}

BIN="" TAG="osps$$" RESULTS="" LOAD=yes DELAY=yes VERBOSE=no WHICH=all MODE=run SHORT=""
while [ $# -gt 0 ]; do
  case "$1" in
    --bin) BIN=$2; shift 2 ;;
    --tag) TAG=$2; shift 2 ;;
    --results) RESULTS=$2; shift 2 ;;
    --no-load) LOAD=no; shift ;;
    --no-delay) DELAY=no; shift ;;
    -v) VERBOSE=yes; shift ;;
    -h|--help) usage; exit 0 ;;
    --expected) MODE=expected; shift ;;
    --short-error) MODE=short-error; SHORT=$2; shift 2 ;;
    v1|v2|v3|all) WHICH=$1; shift ;;
    *) echo "netlab: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
  esac
done
[ "$MODE" != run ] || [ -n "$BIN" ] || { echo "netlab: --bin DIR is required" >&2; exit 2; }
if [ "$WHICH" = all ]; then VARIANTS="v1 v2 v3"; else VARIANTS=$WHICH; fi
SCENARIOS="flat nat firewall both"

# The addresses: the private network (client side) and the public one
# (server side) are the documentation ranges of RFC 5737, nothing else.
CLIENT_IP=192.0.2.2     # client host, eth0
ROUTER_PRIV=192.0.2.1   # router host, eth0 (the private side)
ROUTER_PUB=198.51.100.1 # router host, eth1 (the public side)
SERVER_IP=198.51.100.2  # server host, eth0
PORT=2222               # the only port the firewall lets in

# The namespaces: one per host, named after the tag.
CLI=$TAG-client RTR=$TAG-router SRV=$TAG-server

binary() { # binary v1 -> DIR/v1-relay
  case "$1" in
    v1) echo "$BIN/v1-relay" ;;
    v2) echo "$BIN/v2-worker-calls-client" ;;
    v3) echo "$BIN/v3-client-calls-worker" ;;
  esac
}

# show CMD...: with -v, print CMD on stderr as a student would type it
# (an argument with a space or a ';' in single quotes).
show() {
  [ "$VERBOSE" = yes ] || return 0
  local a line=""
  for a in "$@"; do
    case "$a" in
      *[\ \;]*) line="$line '$a'" ;;
      *) line="$line $a" ;;
    esac
  done
  echo "    #$line" >&2
}

# run CMD...: one network command, shown with -v.
run() {
  show "$@"
  "$@"
}

# ---------------------------------------------------------------- checks

# need: root, ip, nft, and network namespaces; otherwise one line and exit 2.
need() {
  if [ "$(id -u)" != 0 ]; then
    echo "netlab: needs root (it creates network namespaces); run it as root" >&2; exit 2
  fi
  local missing=""
  command -v ip >/dev/null || missing="$missing iproute2"
  command -v nft >/dev/null || missing="$missing nftables"
  if [ -n "$missing" ]; then
    echo "netlab: installing$missing (apt-get)" >&2
    if ! { command -v apt-get >/dev/null &&
           DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null 2>&1 &&
           DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null 2>&1; }; then
      echo "netlab: needs$missing and could not install it with apt-get" >&2; exit 2
    fi
  fi
  for b in $VARIANTS; do
    [ -x "$(binary "$b")" ] || { echo "netlab: no binary $(binary "$b") (./run.sh build)" >&2; exit 2; }
  done
  # A throw-away host proves, before anything is built, that the kernel
  # lets us create a namespace, a veth pair and an nftables table.
  local why=""
  if ! ip netns add "$TAG-probe" 2>/dev/null; then
    why="cannot create a network namespace here (ip netns add failed)"
  elif ! ip -n "$TAG-probe" link add name a type veth peer name b 2>/dev/null; then
    why="cannot create a veth pair here (ip link add ... type veth failed)"
  elif ! ip netns exec "$TAG-probe" nft add table ip probe 2>/dev/null; then
    why="the kernel refuses nftables here (nft add table failed)"
  fi
  ip netns del "$TAG-probe" 2>/dev/null || true
  [ -z "$why" ] || { echo "netlab: $why" >&2; exit 2; }
}

# ---------------------------------------------------------------- the network

# net_up builds the flat network: client -- router -- server.
net_up() {
  # 1. three hosts: one network namespace each, with its loopback up.
  local ns
  for ns in "$CLI" "$RTR" "$SRV"; do
    run ip netns add "$ns"
    run ip -n "$ns" link set lo up
  done
  # 2. two cables: veth pairs, each end born inside its host.
  run ip link add name eth0 netns "$CLI" type veth peer name eth0 netns "$RTR"
  run ip link add name eth1 netns "$RTR" type veth peer name eth0 netns "$SRV"
  # 3. addresses: the private network 192.0.2.0/24, the public 198.51.100.0/24.
  run ip -n "$CLI" addr add "$CLIENT_IP/24" dev eth0
  run ip -n "$RTR" addr add "$ROUTER_PRIV/24" dev eth0
  run ip -n "$RTR" addr add "$ROUTER_PUB/24" dev eth1
  run ip -n "$SRV" addr add "$SERVER_IP/24" dev eth0
  for ns in "$CLI" "$RTR" "$SRV"; do
    run ip -n "$ns" link set eth0 up
  done
  run ip -n "$RTR" link set eth1 up
  # 4. routes: each host knows the other network through the router, and
  #    nothing else (no default route: nothing leaves the three hosts).
  run ip netns exec "$RTR" sysctl -q -w net.ipv4.ip_forward=1
  run ip -n "$CLI" route add 198.51.100.0/24 via "$ROUTER_PRIV"
  run ip -n "$SRV" route add 192.0.2.0/24 via "$ROUTER_PUB"
}

# nat: the router masquerades the private network behind its public
# address, and the public side no longer routes the private network.
nat() {
  run ip netns exec "$RTR" nft add table ip osps_nat
  run ip netns exec "$RTR" nft 'add chain ip osps_nat postrouting { type nat hook postrouting priority srcnat; policy accept; }'
  run ip netns exec "$RTR" nft add rule ip osps_nat postrouting oifname eth1 ip saddr 192.0.2.0/24 masquerade
  run ip -n "$SRV" route del 192.0.2.0/24
}

# firewall: the server host lets in only port 2222 and the replies to
# its own connections.
firewall() {
  run ip netns exec "$SRV" nft add table inet osps_fw
  run ip netns exec "$SRV" nft 'add chain inet osps_fw input { type filter hook input priority filter; policy drop; }'
  run ip netns exec "$SRV" nft add rule inet osps_fw input iifname lo accept
  run ip netns exec "$SRV" nft add rule inet osps_fw input ct state established,related accept
  run ip netns exec "$SRV" nft add rule inet osps_fw input tcp dport "$PORT" accept
}

# delay: 5 ms each way on the public link (netem), if the kernel has it.
delay() {
  run ip netns exec "$RTR" tc qdisc add dev eth1 root netem delay 5ms &&
    run ip netns exec "$SRV" tc qdisc add dev eth0 root netem delay 5ms
}

# net_down deletes the three hosts: their links, addresses, routes and
# nftables rules go with them. Any process still inside is killed first.
net_down() {
  local ns pid
  for ns in "$CLI" "$RTR" "$SRV" "$TAG-probe"; do
    [ -e "/run/netns/$ns" ] || continue
    for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null || true; done
    run ip netns del "$ns" 2>/dev/null || true
  done
}

# ---------------------------------------------------------------- one variant

SERVE_PID="" SERVE_OUT="" CLIENT_OUT=""
stop_serve() {
  if [ -n "$SERVE_PID" ]; then
    kill -TERM "$SERVE_PID" 2>/dev/null || true
    wait "$SERVE_PID" 2>/dev/null || true
    SERVE_PID=""
  fi
}

# cleanup runs once, at exit: it ignores further signals and errors,
# prints nothing, and leaves nothing behind.
cleanup() {
  trap '' HUP INT PIPE TERM
  set +e
  VERBOSE=no
  stop_serve
  net_down
  rm -f "$SERVE_OUT" "$CLIENT_OUT"
}
# A signal ends the script through exit, so that the EXIT trap runs:
# Ctrl-C (INT), kill (TERM), a closed terminal (HUP), or a reader that
# went away (PIPE, as in `./run.sh net | head`).
trap cleanup EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 141' PIPE
trap 'exit 143' TERM

# serve V: start V's dispatcher on the server host's public address.
# v2's worker gives up a call-back after 2 s (--callback-timeout), so that
# a client it cannot reach hears of it long before its own 30 s.
serve() {
  local extra=()
  [ "$1" != v2 ] || extra=(--callback-timeout 2s)
  : >"$SERVE_OUT"
  show ip netns exec "$SRV" "$(binary "$1")" serve --listen "$SERVER_IP" --port "$PORT" --workers 2 "${extra[@]}" "&"
  ip netns exec "$SRV" "$(binary "$1")" serve --listen "$SERVER_IP" --port "$PORT" --workers 2 "${extra[@]}" \
    >"$SERVE_OUT" 2>&1 &
  SERVE_PID=$!
  local i
  for i in $(seq 1 100); do
    grep -q '^ready ' "$SERVE_OUT" && return 0
    kill -0 "$SERVE_PID" 2>/dev/null || break
    sleep 0.1
  done
  echo "netlab: $1 serve did not say ready on $SERVER_IP:$PORT; its last lines:" >&2
  tail -n 5 "$SERVE_OUT" >&2
  return 1
}

# client V ARGS...: V's client on the client host, output in CLIENT_OUT.
client() {
  local v=$1; shift
  show ip netns exec "$CLI" "$(binary "$v")" client --server "$SERVER_IP:$PORT" "$@"
  ip netns exec "$CLI" "$(binary "$v")" client --server "$SERVER_IP:$PORT" "$@" >"$CLIENT_OUT" 2>&1
}

now_ms() { echo $(($(date +%s%N) / 1000000)); }

# p50 V REQUEST N: the p50 of N requests in one session, in microseconds.
p50() {
  client "$1" --clients 1 --requests "$3" "$2" || return 1
  sed -n 's/^summary .* p50_us=\([0-9.]*\) .*/\1/p' "$CLIENT_OUT"
}

# fmt_ms 250 -> "250ms", fmt_ms 3120 -> "3.1s"
fmt_ms() { awk -v m="$1" 'BEGIN { if (m >= 1000) printf "%.1fs", m / 1000; else printf "%dms", m }'; }

# fmt_us 1234.5 -> "1.23 ms", fmt_us 95 -> "95 us", fmt_us "" -> "-" (no load run)
fmt_us() {
  case "$1" in
    "") echo - ;;
    *[!0-9.]*) echo "$1" ;;
    *) awk -v u="$1" 'BEGIN { if (u >= 1000) printf "%.2f ms", u / 1000; else printf "%.0f us", u }' ;;
  esac
}

# measure V: one session (requetetype1), then the two loads; sets
# STATUS (ok/failed), ELAPSED_MS, ERROR, P50_1, P50_MIB.
measure() {
  local v=$1 t0 t1
  STATUS=ok ERROR="" P50_1="" P50_MIB=""
  t0=$(now_ms)
  client "$v" --timeout 3s requetetype1 || STATUS=failed
  t1=$(now_ms)
  ELAPSED_MS=$((t1 - t0))
  if [ "$STATUS" = failed ]; then
    ERROR=$(grep -v '^$' "$CLIENT_OUT" | tail -n 1)
    return
  fi
  if [ "$LOAD" = yes ]; then
    P50_1=$(p50 "$v" requetetype1 200) || P50_1="load failed"
    P50_MIB=$(p50 "$v" "requetetype2 1048576" 10) || P50_MIB="load failed"
  fi
}

# The course's prediction is the table "What to expect" of
# docs/network.md, read from the page itself: a line "| nat | ok | failed
# | ok |" per scenario, one column per variant.
EXPECTED_PAGE=$(cd "$(dirname "$0")/../../.." && pwd)/docs/network.md

# expected V SCENARIO: ok or failed, as docs/network.md says.
expected() {
  local col
  case "$1" in v1) col=3 ;; v2) col=4 ;; v3) col=5 ;; esac
  awk -F'|' -v s="$2" -v c="$col" '
    /^## What to expect/ { on = 1; next }
    on && /^## / { exit }
    on { f = $2; gsub(/[ *]/, "", f); if (f == s) { v = $c; gsub(/ /, "", v); print v; exit } }' "$EXPECTED_PAGE"
}

# short_error LINE: the client's last line, short enough for a cell: the
# ERR code and the reason without addresses, then the root cause, e.g.
# "ERR worker-failed cannot call back (connection refused)".
short_error() {
  local line=$1 head cause
  head=$(sed -e 's/^[^:]*: \(ERR \)/\1/' -e 's/ \(at \)\{0,1\}[0-9][0-9.]*:[0-9][0-9]*.*//' <<<"$line")
  cause=${line##*: }
  if [ "$cause" != "$line" ] && [ "$head" != "$line" ]; then echo "$head ($cause)"; else echo "$head"; fi
}

# ---------------------------------------------------------------- the table

# table DELAY: build, run and tear down the network once per scenario.
# Returns 1 if a cell differs from the expected matrix.
table() {
  local with_delay=$1 scenario v status=0 want mark
  printf '%-8s %-3s %-12s %-10s %9s %9s\n' scenario var result docs/ "p50 rt1" "p50 1MiB"
  for scenario in $SCENARIOS; do
    net_up
    case "$scenario" in
      nat) nat ;;
      firewall) firewall ;;
      both) nat; firewall ;;
    esac
    [ "$with_delay" = no ] || delay
    for v in $VARIANTS; do
      serve "$v" || { status=1; stop_serve; continue; }
      measure "$v"
      stop_serve
      want=$(expected "$v" "$scenario")
      if [ "$STATUS" = "$want" ]; then mark=expected; else mark="UNEXPECTED"; status=1; fi
      if [ "$STATUS" = ok ]; then
        printf '%-8s %-3s %-12s %-10s %9s %9s\n' "$scenario" "$v" "ok $(fmt_ms "$ELAPSED_MS")" \
          "$mark" "$(fmt_us "$P50_1")" "$(fmt_us "$P50_MIB")"
      else # no load ran: the client's error in place of the p50s
        printf '%-8s %-3s %-12s %-10s %s\n' "$scenario" "$v" "failed $(fmt_ms "$ELAPSED_MS")" "$mark" "$(short_error "$ERROR")"
      fi
      [ "$mark" = expected ] || echo "             ^ docs/network.md expects $want here"
      [ -z "$RESULTS" ] || printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$with_delay" "$v" "$scenario" \
        "$STATUS" "$ELAPSED_MS" "$ERROR" "$P50_1" "$P50_MIB" >>"$RESULTS"
    done
    net_down
  done
  return "$status"
}

case "$MODE" in
  expected)
    for v in $VARIANTS; do for scenario in $SCENARIOS; do echo "$v $scenario $(expected "$v" "$scenario")"; done; done
    exit 0 ;;
  short-error) short_error "$SHORT"; exit 0 ;;
esac
need
SERVE_OUT=$(mktemp "${TMPDIR:-/tmp}/netlab-serve.XXXXXX")
CLIENT_OUT=$(mktemp "${TMPDIR:-/tmp}/netlab-client.XXXXXX")
[ -z "$RESULTS" ] || : >"$RESULTS"

echo "client $CLIENT_IP -- $ROUTER_PRIV router $ROUTER_PUB -- $SERVER_IP server (dispatcher on port $PORT)"
echo "nat: the router masquerades 192.0.2.0/24; firewall: the server lets in only port $PORT and replies"
echo "result: one session (client --timeout 3s requetetype1), ok or failed, and how long the command took;"
echo "docs/: whether docs/network.md (What to expect) predicts that result: four cells fail on purpose;"
echo "p50 rt1, p50 1MiB: for a session that works, the median time of 200 requetetype1 and of"
echo "10 requetetype2 1048576 in one session (client --clients 1 --requests N); for a session that"
echo "fails, in their place: the client's last line, addresses left out"
echo
[ -n "$(expected v1 flat)" ] || { echo "netlab: no table \"What to expect\" in $EXPECTED_PAGE" >&2; exit 2; }
STATUS_ALL=0
table no || STATUS_ALL=1

# The second table needs netem: try it once on a throw-away namespace.
if [ "$DELAY" = yes ]; then
  echo
  if ip netns add "$TAG-probe" && ip netns exec "$TAG-probe" tc qdisc add dev lo root netem delay 5ms 2>/dev/null; then
    ip netns del "$TAG-probe"
    echo "the same with 5 ms each way on the public link (tc qdisc ... netem delay 5ms on both ends):"
    table yes || STATUS_ALL=1
  else
    ip netns del "$TAG-probe" 2>/dev/null || true
    echo "no second table: this kernel has no netem (tc qdisc add ... netem: unknown qdisc)"
  fi
fi
exit "$STATUS_ALL"
