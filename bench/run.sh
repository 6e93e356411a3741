#!/usr/bin/env bash
# Proxy benchmark: one command, on this machine, everything measured in the same run.
#
#   bash bench/run.sh            (REPEATS=3 DURATION=5 WORKERS=2 by default; WORKERS is the
#                                 server's NANGO_WORKER_THREADS, nginx runs 1 worker)
#
# Starts a fast upstream (nginx serving a small JSON body, a 1 MiB file and a 1 GiB file),
# nginx as a reference reverse proxy that injects the same header, and nango-server (release
# build, SQLite) with a private-api-generic integration pointing at the upstream. Then, with
# wrk --latency at concurrency 1 and 64: the upstream directly, the nginx proxy, and ours.
# Prints req/s, p50, p99 (medians over REPEATS runs), ratios, latency added, RSS idle and
# under load, MiB/s of repeated 1 MiB downloads, the RSS added while streaming 1 GiB, and the
# call records dropped (none should be: the call history must keep up).
set -euo pipefail
cd "$(dirname "$0")/.."
REPEATS=${REPEATS:-3}
DURATION=${DURATION:-5}

need() { command -v "$1" >/dev/null 2>&1; }
if ! need nginx || ! need wrk; then
    echo "installing nginx-light and wrk (Debian packages)"
    apt-get update -qq && apt-get install -y -qq nginx-light wrk >/dev/null
fi
NGINX=$(command -v nginx)

echo "building nango-server (release)"
cargo build --release --locked -q -p nango-server
SERVER=target/release/nango-server

work=$(mktemp -d)
chmod 755 "$work"   # nginx workers run as an unprivileged user
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
UP=$(port); REF=$(port); OURS=$(port)

# Upstream content.
mkdir -p "$work/www"
printf '{"id":1,"name":"Acme","items":[1,2,3],"ok":true}' > "$work/www/small.json"
head -c 1048576 /dev/zero > "$work/www/1mib.bin"
truncate -s 1G "$work/www/1gib.bin"   # sparse: no disk used

cat > "$work/nginx.conf" <<CONF
worker_processes 1;
daemon off;
pid $work/nginx.pid;
error_log $work/nginx-error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    # nginx defaults (no sendfile): with sendfile, headers and a small body leave in two
    # segments and a keep-alive client waits for its delayed ACK (~40 ms per request).
    sendfile off;
    keepalive_requests 1000000;
    upstream up { server 127.0.0.1:$UP; keepalive 128; }
    server {
        listen 127.0.0.1:$UP;
        root $work/www;
        default_type application/json;
        location = /upload { client_max_body_size 0; return 204; }
    }
    server {
        listen 127.0.0.1:$REF;
        location / {
            proxy_pass http://up;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Authorization "Api-Key bench-key";
            proxy_buffering off;
        }
    }
}
CONF
"$NGINX" -c "$work/nginx.conf" -p "$work" &
pids+=($!)

# Everything a production server does per request stays on (call records stored, metrics,
# rate limiter); only the limit is raised so the load generator is not refused.
# BENCH_DATABASE_URL=postgres://… runs the server on that (empty) PostgreSQL database instead
# of SQLite.
db_vars=()
if [ -n "${BENCH_DATABASE_URL:-}" ]; then
    db_vars=(NANGO_DATABASE_URL="$BENCH_DATABASE_URL" NANGO_ENCRYPTION_KEY="$(head -c 32 /dev/urandom | base64)")
fi
env "${db_vars[@]}" NANGO_DATA_DIR="$work/data" SERVER_PORT=$OURS NANGO_BIND_ADDRESS=127.0.0.1 RUST_LOG=warn NANGO_WORKER_THREADS=${WORKERS:-2} \
    DEFAULT_RATE_LIMIT_PER_MIN=1000000000 \
    NANGO_OUTBOUND_URL_POLICY='{"blockPrivateIps":false}' "$SERVER" > "$work/server.log" 2>&1 &
SPID=$!
pids+=($SPID)

wait_for() {
    for _ in $(seq 1 200); do curl -fsS -o /dev/null "$1" 2>/dev/null && return 0; sleep 0.05; done
    echo "not ready: $1"; cat "$work/nginx-error.log" "$work/server.log" 2>/dev/null | tail -20; exit 1
}
wait_for "http://127.0.0.1:$UP/small.json"
wait_for "http://127.0.0.1:$REF/small.json"
wait_for "http://127.0.0.1:$OURS/health"

KEY=$(cat "$work/data/secret-key-dev")
curl -fsS -o /dev/null "http://127.0.0.1:$OURS/integrations" -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' \
    -d "{\"provider\":\"private-api-generic\",\"unique_key\":\"bench\",\"integration_config\":{\"baseUrl\":\"http://127.0.0.1:$UP\",\"keyName\":\"Authorization\",\"valueTemplate\":\"Api-Key \${apiKey}\"}}"
curl -fsS -o /dev/null "http://127.0.0.1:$OURS/connections" -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' \
    -d '{"provider_config_key":"bench","connection_id":"c1","credentials":{"type":"API_KEY","apiKey":"bench-key"}}'
OURS_HEADERS=(-H "Authorization: Bearer $KEY" -H "Provider-Config-Key: bench" -H "Connection-Id: c1")
# Check the key really is injected before measuring.
curl -fsS "http://127.0.0.1:$OURS/proxy/small.json" "${OURS_HEADERS[@]}" | grep -q Acme

rss_kb() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }
IDLE_RSS=$(rss_kb $SPID)

# wrk_run URL CONNECTIONS [headers...] -> "req/s p50_ms p99_ms"
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
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", t).group(1))
# Anchor to the latency distribution lines ("86.99%" in the stats table must not match).
p50 = ms(re.search(r"^\s+50%\s+(\S+)", t, re.M).group(1)); p99 = ms(re.search(r"^\s+99%\s+(\S+)", t, re.M).group(1))
print(f"{rps:.0f} {p50:.3f} {p99:.3f}")'
}
median() { python3 -c 'import statistics,sys; print(statistics.median(float(x) for x in sys.argv[1:]))' "$@"; }

declare -A RESULT
PEAK_LOAD=0
for conns in 1 64; do
    for target in direct nginx ours; do
        rps=(); p50=(); p99=()
        for _ in $(seq 1 "$REPEATS"); do
            case $target in
                direct) line=$(wrk_run "http://127.0.0.1:$UP/small.json" $conns) ;;
                nginx) line=$(wrk_run "http://127.0.0.1:$REF/small.json" $conns) ;;
                ours)
                    ( peak=0; while kill -0 $SPID 2>/dev/null; do r=$(rss_kb $SPID); [ "$r" -gt "$peak" ] && peak=$r && echo $peak > "$work/peak"; sleep 0.1; done ) &
                    sampler=$!
                    line=$(wrk_run "http://127.0.0.1:$OURS/proxy/small.json" $conns "${OURS_HEADERS[@]}")
                    kill $sampler 2>/dev/null || true
                    p=$(cat "$work/peak" 2>/dev/null || echo 0); [ "$p" -gt "$PEAK_LOAD" ] && PEAK_LOAD=$p ;;
            esac
            read -r a b c <<< "$line"; rps+=("$a"); p50+=("$b"); p99+=("$c")
        done
        RESULT[$target,$conns]="$(median "${rps[@]}") $(median "${p50[@]}") $(median "${p99[@]}")"
    done
done

# Repeated 1 MiB downloads through our proxy (4 connections).
MIB_LINE=$(wrk -t2 -c4 -d"${DURATION}s" "${OURS_HEADERS[@]}" "http://127.0.0.1:$OURS/proxy/1mib.bin" | awk '/Transfer\/sec/ {print $2}')
MIB_S=$(python3 -c "import re,sys; v='$MIB_LINE'; n,u=re.match(r'([\d.]+)(\w+)',v).groups(); n=float(n); print(round(n*{'KB':1/1024,'MB':1,'GB':1024}.get(u,1),1))")

# Peak RSS while streaming 1 GiB through our proxy.
BEFORE_STREAM=$(rss_kb $SPID)
( peak=0; while kill -0 $SPID 2>/dev/null; do r=$(rss_kb $SPID); [ "$r" -gt "$peak" ] && peak=$r && echo $peak > "$work/speak"; sleep 0.05; done ) &
sampler=$!
BYTES=$(curl -fsS "${OURS_HEADERS[@]}" "http://127.0.0.1:$OURS/proxy/1gib.bin" -o /dev/null -w '%{size_download}')
kill $sampler 2>/dev/null || true
STREAM_PEAK=$(cat "$work/speak")

# Peak RSS while uploading 1 GiB through our proxy (streamed, length not declared up front).
BEFORE_UPLOAD=$(rss_kb $SPID)
rm -f "$work/upeak"
( peak=0; while kill -0 $SPID 2>/dev/null; do r=$(rss_kb $SPID); [ "$r" -gt "$peak" ] && peak=$r && echo $peak > "$work/upeak"; sleep 0.05; done ) &
sampler=$!
# `-T -` streams stdin (chunked); `--data-binary @-` would read it all into curl's memory.
UPLOAD_STATUS=$(head -c 1073741824 /dev/zero | curl -sS -X POST -T - "${OURS_HEADERS[@]}" -H 'Content-Type: application/octet-stream' \
    "http://127.0.0.1:$OURS/proxy/upload" -o /dev/null -w '%{http_code} %{size_upload}')
kill $sampler 2>/dev/null || true
UPLOAD_PEAK=$(cat "$work/upeak")

python3 - "$IDLE_RSS" "$PEAK_LOAD" "$MIB_S" "$BEFORE_STREAM" "$STREAM_PEAK" "$BYTES" "$BEFORE_UPLOAD" "$UPLOAD_PEAK" "$UPLOAD_STATUS" \
    "${RESULT[direct,1]}" "${RESULT[nginx,1]}" "${RESULT[ours,1]}" "${RESULT[direct,64]}" "${RESULT[nginx,64]}" "${RESULT[ours,64]}" <<'PY'
import sys
idle, peak, mib_s, before, speak, nbytes, ubefore, upeak, ustatus = sys.argv[1:10]
r = [list(map(float, x.split())) for x in sys.argv[10:16]]
names = ["direct", "nginx proxy", "nango-rs proxy"]
print()
print(f"Proxy benchmark (wrk --latency, small JSON body, medians of runs; {sys.argv[0] and ''}this machine)")
print()
print("| target | c=1 req/s | c=1 p50 ms | c=1 p99 ms | c=64 req/s | c=64 p50 ms | c=64 p99 ms |")
print("|---|---|---|---|---|---|---|")
for i, n in enumerate(names):
    a, b = r[i], r[i + 3]
    print(f"| {n} | {a[0]:.0f} | {a[1]:.3f} | {a[2]:.3f} | {b[0]:.0f} | {b[1]:.3f} | {b[2]:.3f} |")
d1, n1, o1, d64, n64, o64 = r
print()
print(f"- c=64 req/s: ours / nginx = {o64[0] / n64[0]:.2f}x (target >= 0.8x); ours / direct = {o64[0] / d64[0]:.2f}x")
print(f"- c=1 p50: ours {o1[1]:.3f} ms vs nginx {n1[1]:.3f} ms: +{o1[1] - n1[1]:.3f} ms (target <= 0.1 ms); latency added over direct: {o1[1] - d1[1]:.3f} ms")
print(f"- RSS idle {int(idle) / 1024:.1f} MB, peak under load {int(peak) / 1024:.1f} MB (target < 40 MB)")
print(f"- repeated 1 MiB downloads through the proxy (4 connections): {mib_s} MiB/s")
print(f"- streaming 1 GiB ({int(nbytes) / 2**30:.2f} GiB received): RSS {int(before) / 1024:.1f} MB before, peak {int(speak) / 1024:.1f} MB, +{(int(speak) - int(before)) / 1024:.1f} MB (target < 16 MB)")
code, sent = ustatus.split()
print(f"- uploading 1 GiB ({int(float(sent)) / 2**30:.2f} GiB sent, upstream answered {code}): RSS {int(ubefore) / 1024:.1f} MB before, peak {int(upeak) / 1024:.1f} MB, +{(int(upeak) - int(ubefore)) / 1024:.1f} MB")
PY

# CPU per request at concurrency 64 (docs/performance.md): CPU time (utime + stime, in clock
# ticks) of each process across one wrk run, divided by the requests it served.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
NGINX_WORKER=$(pgrep -P "$(cat "$work/nginx.pid")" | head -n1)
HZ=$(getconf CLK_TCK)
# cpu_per_request URL [headers...] -> "µs of our server, µs of the nginx worker" per request
cpu_per_request() {
    local url=$1; shift
    local s0 n0 out s1 n1
    s0=$(cpu_ticks "$SPID"); n0=$(cpu_ticks "$NGINX_WORKER")
    out=$(wrk -t2 -c64 -d"${DURATION}s" "$@" "$url")
    s1=$(cpu_ticks "$SPID"); n1=$(cpu_ticks "$NGINX_WORKER")
    python3 -c '
import re, sys
out, s, n, hz = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
total = int(re.search(r"(\d+) requests in", out).group(1))
print(f"{s / hz / total * 1e6:.1f} {n / hz / total * 1e6:.1f}")' "$out" "$((s1 - s0))" "$((n1 - n0))" "$HZ"
}
read -r _ REF_NGINX <<< "$(cpu_per_request "http://127.0.0.1:$REF/small.json")"
read -r OURS_CPU UP_NGINX <<< "$(cpu_per_request "http://127.0.0.1:$OURS/proxy/small.json" "${OURS_HEADERS[@]}")"
echo "- CPU per request at c=64: nango-rs proxy ${OURS_CPU} µs (plus ${UP_NGINX} µs in the nginx upstream);" \
    "nginx reference ${REF_NGINX} µs for proxy and upstream together (one worker)"

# Call history kept up (issue 15): every proxied call above was queued for request_logs; any
# the writer could not keep is counted here (and marked in GET /logs).
DROPPED=$(curl -fsS "http://127.0.0.1:$OURS/metrics" | awk '/^nango_request_logs_dropped_total / {print $2}')
echo "- call records dropped during the whole run: ${DROPPED:-unknown} (nango_request_logs_dropped_total)"
