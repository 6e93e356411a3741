#!/usr/bin/env bash
# Alternating A/B runs of server binaries in one harness, for judging one change against
# another on this noisy machine (docs/performance.md: the figures of "Serving threads of
# their own" came from it).
#
#   bash bench/ab.sh ROUNDS BIN_A BIN_B [BIN...]
#
# Starts an nginx upstream, the bare proxy (server/examples/bare_proxy.rs, release build) and
# each BIN (SQLite, the default configuration of bench/run.sh), then for each of ROUNDS rounds
# loads each in turn with wrk -c64 (C=n for another concurrency) for D seconds (default 5)
# after a 1 s warm-up, and prints req/s, CPU µs per request (utime + stime of the whole
# process from /proc) and context switches per request (every thread). At the end: each
# process's sockets and VmHWM/RssAnon/RssFile. THREADS=1 also prints each thread name's CPU
# per request, split into user and kernel time. EXTRA="VAR=value ..." adds environment
# variables to the servers.
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -ge 2 ] || { echo "usage: bash bench/ab.sh ROUNDS BIN_A [BIN_B ...]"; exit 2; }
ROUNDS=$1; shift
C=${C:-64}; T=$(( C > 1 ? 2 : 1 ))
command -v nginx >/dev/null && command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq nginx-light wrk >/dev/null; }
cargo build --release --locked -q -p nango-server --example bare_proxy
# shellcheck source=bench/lib.sh
. bench/lib.sh
UP=$(port)
mkdir -p "$work/www"
printf '{"id":1,"name":"Acme","items":[1,2,3],"ok":true}' > "$work/www/small.json"
static_upstream "$UP"
ready() { for _ in $(seq 1 200); do curl -fsS -o /dev/null "$1" 2>/dev/null && return 0; sleep 0.05; done; echo "not ready: $1"; exit 1; }
ready "http://127.0.0.1:$UP/small.json"
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
switches() { cat /proc/"$1"/task/*/status | awk '/ctxt_switches/ {s += $2} END {print s}'; }
# thread_ticks PID: "name ticks" per thread name (threads of one name summed; digits dropped).
thread_ticks() {
    for t in /proc/"$1"/task/*; do
        printf '%s %s %s\n' "$(tr -d '0-9' < "$t/comm")" "$(awk '{print $14, $15}' "$t/stat")"
    done | awk '{u[$1] += $2; k[$1] += $3} END {for (n in u) print n, u[n], k[n]}' | sort
}
declare -A PID URL KEY
names=(bare-proxy)
P=$(port)
target/release/examples/bare_proxy "$P" "http://127.0.0.1:$UP" 2 &
PID[bare-proxy]=$!; pids+=($!); URL[bare-proxy]="http://127.0.0.1:$P/proxy/small.json"; KEY[bare-proxy]=""
ready "${URL[bare-proxy]}"
i=0
for bin in "$@"; do
    i=$((i + 1)); name="$i:$(basename "$bin")"; P=$(port); d="$work/data$i"
    # shellcheck disable=SC2086
    env NANGO_DATA_DIR="$d" SERVER_PORT="$P" NANGO_BIND_ADDRESS=127.0.0.1 RUST_LOG=warn NANGO_WORKER_THREADS=2 \
        DEFAULT_RATE_LIMIT_PER_MIN=1000000000 NANGO_OUTBOUND_URL_POLICY='{"blockPrivateIps":false}' ${EXTRA:-} \
        "$bin" > "$work/server$i.log" 2>&1 &
    PID[$name]=$!; pids+=($!)
    ready "http://127.0.0.1:$P/health"
    KEY[$name]=$(cat "$d/secret-key-dev")
    curl -fsS -o /dev/null "http://127.0.0.1:$P/integrations" -H "Authorization: Bearer ${KEY[$name]}" -H 'Content-Type: application/json' \
        -d "{\"provider\":\"private-api-generic\",\"unique_key\":\"bench\",\"integration_config\":{\"baseUrl\":\"http://127.0.0.1:$UP\",\"keyName\":\"Authorization\",\"valueTemplate\":\"Api-Key \${apiKey}\"}}"
    curl -fsS -o /dev/null "http://127.0.0.1:$P/connections" -H "Authorization: Bearer ${KEY[$name]}" -H 'Content-Type: application/json' \
        -d '{"provider_config_key":"bench","connection_id":"c1","credentials":{"type":"API_KEY","apiKey":"bench-key"}}'
    URL[$name]="http://127.0.0.1:$P/proxy/small.json"; names+=("$name")
done
for _ in $(seq 1 "$ROUNDS"); do
    for name in "${names[@]}"; do
        h=()
        [ -n "${KEY[$name]}" ] && h=(-H "Authorization: Bearer ${KEY[$name]}" -H "Provider-Config-Key: bench" -H "Connection-Id: c1")
        wrk -t"$T" -c"$C" -d1s "${h[@]}" "${URL[$name]}" > /dev/null
        c0=$(cpu_ticks "${PID[$name]}"); x0=$(switches "${PID[$name]}"); t0=$(thread_ticks "${PID[$name]}")
        out=$(wrk -t"$T" -c"$C" -d"${D:-5}s" "${h[@]}" "${URL[$name]}")
        c1=$(cpu_ticks "${PID[$name]}"); x1=$(switches "${PID[$name]}"); t1=$(thread_ticks "${PID[$name]}")
        n=$(echo "$out" | awk '/requests in/ {print $1}')
        rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
        python3 -c "print(f'{\"$name\":<28} {float($rps):8.0f} req/s  {($c1 - $c0) * 1e6 / $(getconf CLK_TCK) / $n:6.1f} µs/req  {($x1 - $x0) / $n:5.2f} switches/req')"
        if [ -n "${THREADS:-}" ]; then
            join -a2 -e0 -o 0,1.2,1.3,2.2,2.3 <(echo "$t0") <(echo "$t1") | awk -v n="$n" -v hz="$(getconf CLK_TCK)" \
                '$4 + $5 > $2 + $3 {f = 1e6 / hz / n; printf "    %-24s %6.1f µs/req (user %.1f, kernel %.1f)\n", $1, ($4 + $5 - $2 - $3) * f, ($4 - $2) * f, ($5 - $3) * f}'
        fi
    done
done
for name in "${names[@]}"; do
    echo "$name: $(find /proc/"${PID[$name]}"/fd -lname 'socket:*' 2>/dev/null | wc -l) sockets; $(grep -E 'VmHWM|RssAnon|RssFile' /proc/"${PID[$name]}"/status | tr -s ' \t' ' ' | tr '\n' ';')"
done
