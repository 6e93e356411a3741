#!/usr/bin/env bash
# Instructions per proxied request, counted by valgrind's callgrind: a measure of the proxy's
# own work that the machine's noise does not move (bench/run.sh's CPU µs per request moves by
# ±10% between runs here, more between days), for judging one change against another.
#
#   bash bench/instructions.sh [BIN]   (BIN defaults to the release build of nango-server)
#
# Starts an nginx upstream, the server under callgrind (SQLite, default configuration, as
# bench/run.sh) and, for reference, the bare hyper proxy (server/examples/bare_proxy.rs) under
# callgrind; sends a warm-up load, zeroes the counters, sends DURATION seconds of wrk at
# concurrency 8, lets the call-history writer flush, and divides the user-space instructions
# of the whole process (every thread: workers, SQLite, call-history writer) by the requests.
# Kernel time (the sockets) is not counted. Under callgrind the server runs about 50 times
# slower, so call-history batches are smaller than under full load: per-batch costs weigh
# more here. SHA-256 runs in software under valgrind (no SHA extensions), so hashing weighs
# more too. Compare runs of this script with each other, not with bench/run.sh's µs; the count
# also rises by a few percent when the machine is slower (fewer requests share each batch), so
# compare binaries in alternation, in one sitting, at similar request counts.
# With TOP=N, prints the server's N most expensive functions of its own, of SQLite, of
# hyper-util's client and of malloc (inclusive). With KEEP_DIR=DIR, the callgrind files are
# copied there (callgrind.bare-proxy, callgrind.nango-server) for callgrind_annotate.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-10}
command -v valgrind >/dev/null || { apt-get update -qq && apt-get install -y -qq valgrind >/dev/null; }
command -v nginx >/dev/null && command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq nginx-light wrk >/dev/null; }
if [ -z "${1:-}" ]; then
    cargo build --release --locked -q -p nango-server --bin nango-server --example bare_proxy
fi
SERVER=${1:-target/release/nango-server}
BARE=target/release/examples/bare_proxy

# shellcheck source=bench/lib.sh
. bench/lib.sh
UP=$(port); OURS=$(port); BP=$(port)
mkdir -p "$work/www"
printf '{"id":1,"name":"Acme","items":[1,2,3],"ok":true}' > "$work/www/small.json"
static_upstream "$UP"
wait_for() {
    for _ in $(seq 1 600); do curl -fsS -o /dev/null "$@" 2>/dev/null && return 0; sleep 0.1; done
    echo "not ready: $*"; tail -20 "$work"/*.log; exit 1
}
wait_for "http://127.0.0.1:$UP/small.json"

# measure NAME PID URL [headers...]: warm-up, zero, load, flush, dump; prints Ir per request.
measure() {
    local name=$1 pid=$2 url=$3; shift 3
    wrk -t1 -c8 -d3s "$@" "$url" > /dev/null
    sleep 0.5  # the warm-up's call records written
    callgrind_control -z "$pid" > /dev/null
    local out n ir
    out=$(wrk -t1 -c8 -d"${DURATION}s" "$@" "$url")
    sleep 1    # this load's call records written (the writer gathers for 200 ms)
    n=$(echo "$out" | awk '/requests in/ {print $1}')
    callgrind_control -d "$pid" > /dev/null
    for _ in $(seq 1 50); do ls "$work/cg.$name".* >/dev/null 2>&1 && break; sleep 0.1; done
    sleep 0.5
    ir=$(callgrind_annotate "$(ls -t "$work/cg.$name".* | head -1)" 2>/dev/null | awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print $1}')
    if [ -n "${KEEP_DIR:-}" ]; then mkdir -p "$KEEP_DIR"; cp "$(ls -t "$work/cg.$name".* | head -1)" "$KEEP_DIR/callgrind.$name"; fi
    printf '%-40s %8d requests  %9.0f instructions per request\n' "$name" "$n" "$(python3 -c "print($ir / $n)")"
    if [ -n "${TOP:-}" ] && [ "$name" = nango-server ]; then
        callgrind_annotate --inclusive=yes "$(ls -t "$work/cg.$name".* | head -1)" 2>/dev/null \
            | awk '/file:function/ {p = 1; next} p && NF && !/^-/' \
            | grep -E 'nango_server::|ExecuteIter|sqlite3_step|send_request|malloc|free' | head -n "$TOP" | cut -c1-200
    fi
}

valgrind --tool=callgrind --callgrind-out-file="$work/cg.bare-proxy" "$BARE" "$BP" "http://127.0.0.1:$UP" 2 > "$work/bare.log" 2>&1 &
pids+=($!); BARE_PID=$!
wait_for "http://127.0.0.1:$BP/proxy/small.json"
measure bare-proxy "$BARE_PID" "http://127.0.0.1:$BP/proxy/small.json"
kill "$BARE_PID"

NANGO_DATA_DIR="$work/data" SERVER_PORT="$OURS" NANGO_BIND_ADDRESS=127.0.0.1 RUST_LOG=warn NANGO_WORKER_THREADS=2 \
    DEFAULT_RATE_LIMIT_PER_MIN=1000000000 NANGO_OUTBOUND_URL_POLICY='{"blockPrivateIps":false}' \
    valgrind --tool=callgrind --callgrind-out-file="$work/cg.nango-server" "$SERVER" > "$work/server.log" 2>&1 &
pids+=($!); SPID=$!
wait_for "http://127.0.0.1:$OURS/health"
KEY=$(cat "$work/data/secret-key-dev")
curl -fsS -o /dev/null "http://127.0.0.1:$OURS/integrations" -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' \
    -d "{\"provider\":\"private-api-generic\",\"unique_key\":\"bench\",\"integration_config\":{\"baseUrl\":\"http://127.0.0.1:$UP\",\"keyName\":\"Authorization\",\"valueTemplate\":\"Api-Key \${apiKey}\"}}"
curl -fsS -o /dev/null "http://127.0.0.1:$OURS/connections" -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' \
    -d '{"provider_config_key":"bench","connection_id":"c1","credentials":{"type":"API_KEY","apiKey":"bench-key"}}'
HDR=(-H "Authorization: Bearer $KEY" -H "Provider-Config-Key: bench" -H "Connection-Id: c1")
curl -fsS "${HDR[@]}" "http://127.0.0.1:$OURS/proxy/small.json" | grep -q Acme
measure nango-server "$SPID" "http://127.0.0.1:$OURS/proxy/small.json" "${HDR[@]}"
