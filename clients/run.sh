#!/usr/bin/env bash
# Client scenarios: generates a Python client (openapi-python-client) and TypeScript types
# (openapi-typescript, used with openapi-fetch) from openapi/nango.json, starts the server
# binary on a free port with a fresh data directory, and drives it through both clients
# (clients/python/scenario.py, clients/typescript/scenario.ts). docs/generating-clients.md
# shows the same commands.
#
#   NANGO_SERVER_BIN   server binary (default target/debug/nango-server; not built here)
#   CLIENTS_STRICT=0   tolerate problems openapi-python-client reports in the document and
#                      workarounds in the Python scenario (default 1: they fail the run)
set -euo pipefail

server=${NANGO_SERVER_BIN:-target/debug/nango-server}
[ -z "${NANGO_SERVER_BIN:-}" ] || server=$(realpath "$NANGO_SERVER_BIN")
cd "$(dirname "$0")/.."
root=$PWD
started=$(date +%s)
step() { echo; echo "==== $* ($(date -u +%H:%M:%S))"; }

[ -x "$server" ] || { echo "no server binary at $server: run 'cargo build -p nango-server' or set NANGO_SERVER_BIN"; exit 1; }
python=${PYTHON:-python3}
"$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "$python is older than 3.11"; exit 1; }

step "Python: venv and pinned packages (clients/python/requirements.txt)"
venv=clients/python/.venv
[ -x "$venv/bin/python" ] || "$python" -m venv "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check -r clients/python/requirements.txt
"$venv/bin/openapi-python-client" --version

step "Python: generate the client from openapi/nango.json"
rm -rf clients/python/generated
gen_log=$(mktemp)
# The venv's bin on PATH: the generator formats its output with the venv's ruff.
PATH="$root/$venv/bin:$PATH" openapi-python-client generate \
    --path openapi/nango.json --meta none --output-path clients/python/generated/nango_client 2>&1 | tee "$gen_log"
problems=$(grep -cE '^(WARNING|Unable to process)' "$gen_log" || true)
rm -f "$gen_log"
if [ "$problems" != 0 ]; then
    echo "!! openapi-python-client reported $problems problem(s) in openapi/nango.json (above)"
    [ "${CLIENTS_STRICT:-1}" != 1 ] || exit 1
fi

step "TypeScript: npm ci, generate the types, type-check and build the scenario"
npm ci --prefix clients/typescript --no-audit --no-fund --loglevel=error
(
    cd clients/typescript
    npx --no-install openapi-typescript ../../openapi/nango.json -o generated/nango.d.ts
    rm -rf dist
    npx --no-install tsc -p tsconfig.json
)

step "start $server"
data=$(mktemp -d)
port=$("$python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
NANGO_DATA_DIR="$data" SERVER_PORT="$port" NANGO_BIND_ADDRESS=127.0.0.1 "$server" > "$data/server.log" 2>&1 &
pid=$!
stop() {
    status=$?
    if kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    fi
    if [ "$status" != 0 ] && [ -f "$data/server.log" ]; then
        echo "---- server log (last 40 lines)"
        tail -n 40 "$data/server.log"
    fi
    rm -rf "$data"
}
trap stop EXIT
host="http://127.0.0.1:$port"
ready=""
for _ in $(seq 1 150); do
    if curl -fsS "$host/health" > /dev/null 2>&1; then ready=1; break; fi
    kill -0 "$pid" 2>/dev/null || { echo "the server exited before answering /health"; exit 1; }
    sleep 0.1
done
[ -n "$ready" ] || { echo "the server did not answer $host/health within 15 s"; exit 1; }
[ -s "$data/secret-key-dev" ] || { echo "no $data/secret-key-dev"; exit 1; }
secret=$(cat "$data/secret-key-dev")
echo "ready at $host"

step "Python scenario"
NANGO_HOST="$host" NANGO_SECRET_KEY="$secret" PYTHONPATH="$root/clients/python/generated" \
    "$venv/bin/python" clients/python/scenario.py

step "TypeScript scenario"
NANGO_HOST="$host" NANGO_SECRET_KEY="$secret" node clients/typescript/dist/scenario.js

echo
echo "clients: done in $(( $(date +%s) - started )) s"
echo "clients: 2 passed, 0 failed"
