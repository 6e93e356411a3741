#!/usr/bin/env bash
# Action benchmark: one command, on this machine, everything measured in the same run.
#
#   bash bench/actions.sh        (REPEATS=3 DURATION=5 by default)
#
# Starts nginx as the upstream (a small JSON item), nango-server (release build, SQLite, the
# default configuration: call history, metrics and the rate limiter on; only the limit is
# raised), and deploys the fixture project's recorded CLI deploy body
# (tests/functions/fixtures/deploy-body.json, the bundles Nango's CLI 0.71.10 compiled). Then,
# with wrk --latency at concurrency 1 and 16:
#   - `echo`: a trivial action (zod input and output checked, returns its input doubled);
#   - `fetch-item`: an action that makes one proxied call (`nango.get`) to the upstream;
#   - `GET /proxy/items/7`: the same upstream call through the proxy, for the ratio.
# Prints actions/s, p50 and p99 (medians over REPEATS runs), the proxied action's time over
# the proxy's, and the server's RSS idle and at its peak while 16 run.
set -euo pipefail
cd "$(dirname "$0")/.."
REPEATS=${REPEATS:-3}
DURATION=${DURATION:-5}

need() { command -v "$1" >/dev/null 2>&1; }
if ! need nginx || ! need wrk; then
    echo "installing nginx-light and wrk (Debian packages)"
    apt-get update -qq && apt-get install -y -qq nginx-light wrk >/dev/null
fi

echo "building nango-server (release)"
cargo build --release --locked -q -p nango-server
SERVER=target/release/nango-server

# shellcheck source=bench/lib.sh
. bench/lib.sh
UP=$(port); OURS=$(port)

mkdir -p "$work/www/items"
printf '{"id":"7","name":"item 7","n":7}' > "$work/www/items/7"
static_upstream "$UP"

NANGO_DATA_DIR="$work/data" SERVER_PORT=$OURS NANGO_BIND_ADDRESS=127.0.0.1 RUST_LOG=warn \
    DEFAULT_RATE_LIMIT_PER_MIN=1000000000 \
    NANGO_OUTBOUND_URL_POLICY='{"blockPrivateIps":false}' "$SERVER" > "$work/server.log" 2>&1 &
SPID=$!
pids+=($SPID)

wait_for() {
    for _ in $(seq 1 200); do curl -fsS -o /dev/null "$1" 2>/dev/null && return 0; sleep 0.05; done
    echo "not ready: $1"; cat "$work/nginx-error.log" "$work/server.log" 2>/dev/null | tail -20; exit 1
}
wait_for "http://127.0.0.1:$UP/items/7"
wait_for "http://127.0.0.1:$OURS/health"

KEY=$(cat "$work/data/secret-key-dev")
AUTH=(-H "Authorization: Bearer $KEY" -H 'Content-Type: application/json')
curl -fsS -o /dev/null "http://127.0.0.1:$OURS/integrations" "${AUTH[@]}" \
    -d "{\"provider\":\"private-api-generic\",\"unique_key\":\"acme-fn\",\"integration_config\":{\"baseUrl\":\"http://127.0.0.1:$UP\",\"keyName\":\"x-api-key\"}}"
curl -fsS -o /dev/null "http://127.0.0.1:$OURS/connections" "${AUTH[@]}" \
    -d '{"provider_config_key":"acme-fn","connection_id":"c1","credentials":{"type":"API_KEY","apiKey":"bench-key"}}'
curl -fsS -o /dev/null "http://127.0.0.1:$OURS/sync/deploy" "${AUTH[@]}" --data-binary @tests/functions/fixtures/deploy-body.json
CONTROL=(-H "Authorization: Bearer $KEY" -H "Provider-Config-Key: acme-fn" -H "Connection-Id: c1")
# Check both actions answer before measuring (and warm the workers' contexts).
for _ in 1 2 3 4; do
    curl -fsS "http://127.0.0.1:$OURS/action/trigger" "${CONTROL[@]}" -H 'Content-Type: application/json' \
        -d '{"action_name":"echo","input":{"message":"hi","n":2}}' | grep -q '"n":4'
    curl -fsS "http://127.0.0.1:$OURS/action/trigger" "${CONTROL[@]}" -H 'Content-Type: application/json' \
        -d '{"action_name":"fetch-item","input":{"id":"7"}}' | grep -q 'item 7'
done

for action in echo fetch; do
    case $action in
        echo) body='{"action_name":"echo","input":{"message":"hi","n":2}}' ;;
        fetch) body='{"action_name":"fetch-item","input":{"id":"7"}}' ;;
    esac
    cat > "$work/$action.lua" <<LUA
wrk.method = "POST"
wrk.body = '$body'
wrk.headers["Content-Type"] = "application/json"
LUA
done

rss_kb() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }
IDLE_RSS=$(rss_kb $SPID)

# wrk_run URL CONNECTIONS [args...] -> "req/s p50_ms p99_ms"
wrk_run() {
    local url=$1 conns=$2; shift 2
    local threads=$(( conns > 1 ? 2 : 1 ))
    wrk -t"$threads" -c"$conns" -d"${DURATION}s" --latency "$@" "$url" | python3 -c '
import re, sys
t = sys.stdin.read()
def ms(v):
    m = re.match(r"([\d.]+)(us|ms|s|m)$", v)
    if not m:
        sys.exit(f"cannot read wrk latency {v!r}:\n{t}")
    n, u = float(m.group(1)), m.group(2)
    return {"us": n / 1000, "ms": n, "s": n * 1000, "m": n * 60000}[u]
if "Non-2xx" in t:
    sys.exit(f"errors during the run:\n{t}")
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", t).group(1))
p50 = ms(re.search(r"^\s+50%\s+(\S+)", t, re.M).group(1)); p99 = ms(re.search(r"^\s+99%\s+(\S+)", t, re.M).group(1))
print(f"{rps:.0f} {p50:.3f} {p99:.3f}")'
}
median() { python3 -c 'import statistics,sys; print(statistics.median(float(x) for x in sys.argv[1:]))' "$@"; }

declare -A RESULT
PEAK16=0
for conns in 1 16; do
    for target in echo fetch proxy; do
        rps=(); p50=(); p99=()
        for _ in $(seq 1 "$REPEATS"); do
            rm -f "$work/peak"
            ( peak=0; while kill -0 $SPID 2>/dev/null; do r=$(rss_kb $SPID); [ "$r" -gt "$peak" ] && peak=$r && echo $peak > "$work/peak"; sleep 0.1; done ) &
            sampler=$!
            case $target in
                echo|fetch) line=$(wrk_run "http://127.0.0.1:$OURS/action/trigger" $conns "${CONTROL[@]}" -s "$work/$target.lua") ;;
                proxy) line=$(wrk_run "http://127.0.0.1:$OURS/proxy/items/7" $conns "${CONTROL[@]}") ;;
            esac
            kill $sampler 2>/dev/null || true
            p=$(cat "$work/peak" 2>/dev/null || echo 0)
            if [ "$conns" = 16 ] && [ "$target" != proxy ] && [ "$p" -gt "$PEAK16" ]; then PEAK16=$p; fi
            read -r a b c <<< "$line"; rps+=("$a"); p50+=("$b"); p99+=("$c")
        done
        RESULT[$target,$conns]="$(median "${rps[@]}") $(median "${p50[@]}") $(median "${p99[@]}")"
    done
done

python3 - "$IDLE_RSS" "$PEAK16" "$(git rev-parse --short HEAD)" \
    "${RESULT[echo,1]}" "${RESULT[fetch,1]}" "${RESULT[proxy,1]}" "${RESULT[echo,16]}" "${RESULT[fetch,16]}" "${RESULT[proxy,16]}" <<'PY'
import sys
idle, peak, commit = sys.argv[1:4]
r = [list(map(float, x.split())) for x in sys.argv[4:10]]
names = ["trivial action (echo)", "proxied action (fetch-item)", "the same call through /proxy"]
print()
print(f"Action benchmark (bash bench/actions.sh at {commit}; wrk --latency, medians of runs, this machine)")
print()
print("| target | c=1 req/s | c=1 p50 ms | c=1 p99 ms | c=16 req/s | c=16 p50 ms | c=16 p99 ms |")
print("|---|---|---|---|---|---|---|")
for i, n in enumerate(names):
    a, b = r[i], r[i + 3]
    print(f"| {n} | {a[0]:.0f} | {a[1]:.3f} | {a[2]:.3f} | {b[0]:.0f} | {b[1]:.3f} | {b[2]:.3f} |")
e1, f1, p1, e16, f16, p16 = r
print()
print(f"- trivial action p50 at c=1: {e1[1]:.3f} ms (target < 2 ms)")
print(f"- trivial actions per second at c=16: {e16[0]:.0f} (target >= 1000)")
print(f"- proxied action / proxy, p50 at c=1: {f1[1] / p1[1]:.2f}x; at c=16: {f16[1] / p16[1]:.2f}x (target <= 1.5x)")
print(f"- RSS idle {int(idle) / 1024:.1f} MB, peak while 16 actions run {int(peak) / 1024:.1f} MB")
PY
