#!/usr/bin/env bash
# Proxy benchmark: one command, on this machine, everything measured in the same run.
#
#   bash bench/run.sh            (REPEATS=3 DURATION=5 WORKERS=2 by default; WORKERS is the
#                                 server's NANGO_WORKER_THREADS, nginx runs 1 worker)
#
# Starts a fast upstream (nginx serving a small JSON body, a 1 MiB file and a 1 GiB file),
# nginx as a reference reverse proxy that injects the same header, and nango-server (release
# build, default configuration: call history, rate limiter and metrics on, logs at warn) with
# a private-api-generic integration pointing at the upstream: once on SQLite (the default) and,
# when PostgreSQL answers on 127.0.0.1:5432 (BENCH_PG_URL to choose another server, BENCH_PG=0
# to skip), once on a throw-away PostgreSQL database (call history written there). Then, with
# wrk --latency at concurrency 1 and 64: the upstream directly, the nginx proxy, and ours.
# Prints req/s, p50, p99 (medians over REPEATS runs), ratios against the targets, CPU per
# request, RSS under load, MiB/s of repeated 1 MiB downloads (ours and nginx's), the RSS added
# while streaming 1 GiB each way, and the call records dropped (none should be). The table is
# also written into docs/performance.md and README.md (between their `bench/run.sh` markers)
# with the commit it measured; BENCH_WRITE=0 leaves the files alone. NANGO_* variables of the
# caller reach both servers (e.g. NANGO_LOG_RETENTION_HOURS=0) and are named in the table.
set -euo pipefail
cd "$(dirname "$0")/.."
REPEATS=${REPEATS:-3}
DURATION=${DURATION:-5}

need() { command -v "$1" >/dev/null 2>&1; }
if ! need nginx || ! need wrk; then
    echo "installing nginx-light and wrk (Debian packages)"
    apt-get update -qq && apt-get install -y -qq nginx-light wrk >/dev/null
fi

echo "building nango-server and the bare proxy (release)"
cargo build --release --locked -q -p nango-server --bin nango-server --example bare_proxy
SERVER=target/release/nango-server
BARE=target/release/examples/bare_proxy

# shellcheck source=bench/lib.sh
. bench/lib.sh
UP=$(port); REF=$(port); BARE_PORT=$(port)

# Upstream content.
mkdir -p "$work/www"
printf '{"id":1,"name":"Acme","items":[1,2,3],"ok":true}' > "$work/www/small.json"
head -c 1048576 /dev/zero > "$work/www/1mib.bin"
truncate -s 1G "$work/www/1gib.bin"   # sparse: no disk used

nginx_serve "    upstream up { server 127.0.0.1:$UP; keepalive 128; }
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
            proxy_set_header Connection \"\";
            proxy_set_header Authorization \"Api-Key bench-key\";
            proxy_buffering off;
        }
    }"

wait_for() {
    for _ in $(seq 1 200); do curl -fsS -o /dev/null "$1" 2>/dev/null && return 0; sleep 0.05; done
    echo "not ready: $1"; cat "$work/nginx-error.log" "${2:-/dev/null}" 2>/dev/null | tail -20; exit 1
}
wait_for "http://127.0.0.1:$UP/small.json"
wait_for "http://127.0.0.1:$REF/small.json"
# The floor of the day (server/examples/bare_proxy.rs): the server's HTTP stack with nothing
# else, so that the report can tell the machine's cost from the proxy's own work.
"$BARE" "$BARE_PORT" "http://127.0.0.1:$UP" "${WORKERS:-2}" &
BARE_PID=$!
pids+=("$BARE_PID")
wait_for "http://127.0.0.1:$BARE_PORT/proxy/small.json"

# Everything a production server does per request stays on (call records stored, metrics,
# rate limiter); only the limit is raised so the load generator is not refused.
# start_server NAME [DATABASE_URL]: starts one server; sets PORT_<NAME>, PID_<NAME>, KEY_<NAME>.
start_server() {
    local name=$1 db=${2:-} port key pid
    port=$(port)
    local vars=()
    if [ -n "$db" ]; then
        vars=(NANGO_DATABASE_URL="$db" NANGO_ENCRYPTION_KEY="$(head -c 32 /dev/urandom | base64)")
    fi
    env "${vars[@]}" NANGO_DATA_DIR="$work/data-$name" SERVER_PORT="$port" NANGO_BIND_ADDRESS=127.0.0.1 RUST_LOG=warn \
        NANGO_WORKER_THREADS="${WORKERS:-2}" DEFAULT_RATE_LIMIT_PER_MIN=1000000000 \
        NANGO_OUTBOUND_URL_POLICY='{"blockPrivateIps":false}' "$SERVER" > "$work/server-$name.log" 2>&1 &
    pid=$!
    pids+=("$pid")
    wait_for "http://127.0.0.1:$port/health" "$work/server-$name.log"
    key=$(cat "$work/data-$name/secret-key-dev")
    curl -fsS -o /dev/null "http://127.0.0.1:$port/integrations" -H "Authorization: Bearer $key" -H 'Content-Type: application/json' \
        -d "{\"provider\":\"private-api-generic\",\"unique_key\":\"bench\",\"integration_config\":{\"baseUrl\":\"http://127.0.0.1:$UP\",\"keyName\":\"Authorization\",\"valueTemplate\":\"Api-Key \${apiKey}\"}}"
    curl -fsS -o /dev/null "http://127.0.0.1:$port/connections" -H "Authorization: Bearer $key" -H 'Content-Type: application/json' \
        -d '{"provider_config_key":"bench","connection_id":"c1","credentials":{"type":"API_KEY","apiKey":"bench-key"}}'
    printf -v "PORT_$name" '%s' "$port"
    printf -v "PID_$name" '%s' "$pid"
    printf -v "KEY_$name" '%s' "$key"
    # Check the key really is injected before measuring.
    ours "$name"
    curl -fsS "${HDR[@]}" "$URL/small.json" | grep -q Acme
}

# ours NAME: sets HDR (the proxy headers), URL (the proxy's base) and SPID for server NAME.
ours() {
    local k="KEY_$1" p="PORT_$1" i="PID_$1"
    HDR=(-H "Authorization: Bearer ${!k}" -H "Provider-Config-Key: bench" -H "Connection-Id: c1")
    URL="http://127.0.0.1:${!p}/proxy"
    SPID=${!i}
}

start_server sqlite
SERVERS=(sqlite)
if [ "${BENCH_PG:-1}" != 0 ]; then
    PG_ADMIN=${BENCH_PG_URL:-postgres://postgres@127.0.0.1:5432/postgres}
    if command -v psql >/dev/null && psql "$PG_ADMIN" -qAtc 'select 1' >/dev/null 2>&1; then
        PG_DB="nango_bench_$$"
        psql "$PG_ADMIN" -qc "CREATE DATABASE $PG_DB" >/dev/null
        trap 'cleanup; psql "$PG_ADMIN" -qc "DROP DATABASE IF EXISTS $PG_DB WITH (FORCE)" >/dev/null 2>&1 || true' EXIT
        start_server pg "${PG_ADMIN%/*}/$PG_DB"
        SERVERS+=(pg)
    else
        echo "PostgreSQL does not answer at $PG_ADMIN: measuring SQLite only"
    fi
fi

rss_kb() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }
# sample_peak PID FILE: writes the peak RSS of PID to FILE until killed.
sample_peak() {
    ( peak=0; while kill -0 "$1" 2>/dev/null; do r=$(rss_kb "$1"); [ "$r" -gt "$peak" ] && peak=$r && echo $peak > "$2"; sleep 0.05; done ) &
    SAMPLER=$!
}

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

declare -A RESULT PEAK
for conns in 1 64; do
    for target in direct nginx bare "${SERVERS[@]}"; do
        rps=(); p50=(); p99=()
        for _ in $(seq 1 "$REPEATS"); do
            case $target in
                direct) line=$(wrk_run "http://127.0.0.1:$UP/small.json" $conns) ;;
                nginx) line=$(wrk_run "http://127.0.0.1:$REF/small.json" $conns) ;;
                bare) line=$(wrk_run "http://127.0.0.1:$BARE_PORT/proxy/small.json" $conns) ;;
                *)
                    ours "$target"
                    rm -f "$work/peak"; sample_peak "$SPID" "$work/peak"
                    line=$(wrk_run "$URL/small.json" $conns "${HDR[@]}")
                    kill "$SAMPLER" 2>/dev/null || true
                    p=$(cat "$work/peak" 2>/dev/null || echo 0)
                    [ "$p" -gt "${PEAK[$target]:-0}" ] && PEAK[$target]=$p ;;
            esac
            read -r a b c <<< "$line"; rps+=("$a"); p50+=("$b"); p99+=("$c")
        done
        RESULT[$target,$conns]="$(median "${rps[@]}") $(median "${p50[@]}") $(median "${p99[@]}")"
    done
done

# CPU per request at concurrency 64 (docs/performance.md): CPU time (utime + stime, in clock
# ticks) of each process across one wrk run, divided by the requests it served.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
NGINX_WORKER=$(pgrep -P "$(cat "$work/nginx.pid")" | head -n1)
HZ=$(getconf CLK_TCK)
# cpu_per_request PID URL [headers...] -> "µs of PID, µs of the nginx worker" per request
cpu_per_request() {
    local pid=$1 url=$2; shift 2
    local s0 n0 out s1 n1
    s0=$(cpu_ticks "$pid"); n0=$(cpu_ticks "$NGINX_WORKER")
    out=$(wrk -t2 -c64 -d"${DURATION}s" "$@" "$url")
    s1=$(cpu_ticks "$pid"); n1=$(cpu_ticks "$NGINX_WORKER")
    python3 -c '
import re, sys
out, s, n, hz = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
total = int(re.search(r"(\d+) requests in", out).group(1))
print(f"{s / hz / total * 1e6:.1f} {n / hz / total * 1e6:.1f}")' "$out" "$((s1 - s0))" "$((n1 - n0))" "$HZ"
}
# The median of REPEATS runs: one run's figure moves by ±10% on a shared machine.
cpu_median() {
    local runs=() us
    for _ in $(seq 1 "$REPEATS"); do
        read -r us _ <<< "$(cpu_per_request "$@")"
        runs+=("$us")
    done
    median "${runs[@]}"
}
REF_CPU=$(cpu_median "$NGINX_WORKER" "http://127.0.0.1:$REF/small.json")
BARE_CPU=$(cpu_median "$BARE_PID" "http://127.0.0.1:$BARE_PORT/proxy/small.json")
declare -A CPU DROPPED
for target in "${SERVERS[@]}"; do
    ours "$target"
    CPU[$target]=$(cpu_median "$SPID" "$URL/small.json" "${HDR[@]}")
done

# mib_s URL [headers...]: MiB/s of repeated 1 MiB downloads (4 connections).
mib_s() {
    local url=$1; shift
    wrk -t2 -c4 -d"${DURATION}s" "$@" "$url" | awk '/Transfer\/sec/ {print $2}' | python3 -c '
import re, sys
n, u = re.match(r"([\d.]+)(\w+)", sys.stdin.read().strip()).groups()
print(round(float(n) * {"KB": 1 / 1024, "MB": 1, "GB": 1024}.get(u, 1), 1))'
}
ours sqlite
MIB_NGINX=$(mib_s "http://127.0.0.1:$REF/1mib.bin")
MIB_OURS=$(mib_s "$URL/1mib.bin" "${HDR[@]}")

# RSS added while streaming 1 GiB through our proxy, each way.
BEFORE_STREAM=$(rss_kb "$SPID"); rm -f "$work/peak"; sample_peak "$SPID" "$work/peak"
BYTES=$(curl -fsS "${HDR[@]}" "$URL/1gib.bin" -o /dev/null -w '%{size_download}')
kill "$SAMPLER" 2>/dev/null || true
STREAM_PEAK=$(cat "$work/peak")
BEFORE_UPLOAD=$(rss_kb "$SPID"); rm -f "$work/peak"; sample_peak "$SPID" "$work/peak"
# `-T -` streams stdin (chunked); `--data-binary @-` would read it all into curl's memory.
UPLOAD=$(head -c 1073741824 /dev/zero | curl -sS -X POST -T - "${HDR[@]}" -H 'Content-Type: application/octet-stream' \
    "$URL/upload" -o /dev/null -w '%{http_code} %{size_upload}')
kill "$SAMPLER" 2>/dev/null || true
UPLOAD_PEAK=$(cat "$work/peak")

# Call history kept up (issue 15): every proxied call above was queued for request_logs; any
# the writer could not keep is counted here (and marked in GET /logs).
for target in "${SERVERS[@]}"; do
    p="PORT_$target"
    DROPPED[$target]=$(curl -fsS "http://127.0.0.1:${!p}/metrics" | awk '/^nango_request_logs_dropped_total / {print $2}')
done

COMMIT=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
[ -n "$(git status --porcelain --untracked-files=no 2>/dev/null)" ] && COMMIT="$COMMIT (with uncommitted changes)"
export COMMIT DURATION REPEATS MIB_NGINX MIB_OURS BEFORE_STREAM STREAM_PEAK BYTES BEFORE_UPLOAD UPLOAD_PEAK UPLOAD REF_CPU BARE_CPU
{
    for key in "${!RESULT[@]}"; do echo "R $key ${RESULT[$key]}"; done
    for t in "${SERVERS[@]}"; do echo "S $t ${PEAK[$t]:-0} ${CPU[$t]} ${DROPPED[$t]:-unknown}"; done
} | python3 bench/report.py
