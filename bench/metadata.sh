#!/usr/bin/env bash
# Memory after large metadata writes: the server's resident set size (VmRSS) idle, at its
# peak while 20 MB metadata bodies are written, and once the writes are done, as ratios to
# its own idle size measured in the same run.
#
#   bash bench/metadata.sh [path/to/nango-server]     (default: builds target/release)
#
# Env: SIZE_MB (20), WRITES (3); the server's own settings pass through, e.g.
# NANGO_METADATA_BODY_LIMIT=75mb to measure what a write of that size costs when accepted.
set -euo pipefail
cd "$(dirname "$0")/.."
SERVER=${1:-}
if [ -z "$SERVER" ]; then
    cargo build --release --locked -p nango-server >&2
    SERVER=target/release/nango-server
fi
SIZE_MB=${SIZE_MB:-20}
WRITES=${WRITES:-3}
work=$(mktemp -d)
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
NANGO_DATA_DIR="$work/data" SERVER_PORT=$PORT NANGO_BIND_ADDRESS=127.0.0.1 RUST_LOG=warn \
    "$SERVER" > "$work/server.log" 2>&1 &
SPID=$!
trap 'kill $SPID 2>/dev/null; wait $SPID 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 1 200); do curl -fsS -o /dev/null "http://127.0.0.1:$PORT/health" 2>/dev/null && break; sleep 0.05; done
KEY=$(cat "$work/data/secret-key-dev")
H=(-H "Authorization: Bearer $KEY" -H 'Content-Type: application/json')
curl -fsS -o /dev/null "http://127.0.0.1:$PORT/integrations" "${H[@]}" \
    -d '{"provider":"private-api-generic","unique_key":"m","integration_config":{"baseUrl":"https://api.example.com","keyName":"X-Key","valueTemplate":"${apiKey}"}}'
curl -fsS -o /dev/null "http://127.0.0.1:$PORT/connections" "${H[@]}" \
    -d '{"provider_config_key":"m","connection_id":"c1","credentials":{"type":"API_KEY","apiKey":"k"}}'
# Many small values: the shape that costs the most per byte once parsed.
python3 - "$work/body.json" "$SIZE_MB" <<'PY'
import json, sys
path, mb = sys.argv[1], int(sys.argv[2])
items, size = [], 0
while size < mb * 1024 * 1024:
    item = {"id": len(items), "name": f"item-{len(items)}", "tags": ["a", "b"], "ok": True}
    items.append(item); size += len(json.dumps(item)) + 1
json.dump({"connection_id": "c1", "provider_config_key": "m", "metadata": {"items": items}}, open(path, "w"))
PY
rss() { awk '/VmRSS/ {print $2}' "/proc/$SPID/status"; }
idle=$(rss)
peak=$idle
sampler() { while kill -0 $SPID 2>/dev/null; do r=$(rss); echo "$r"; sleep 0.02; done; }
sampler > "$work/samples" &
SAMPLER=$!
for _ in $(seq 1 "$WRITES"); do
    code=$(curl -sS -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/connections/metadata" "${H[@]}" --data-binary @"$work/body.json")
    case $code in
        200|201|413) ;;
        *) echo "metadata write answered $code"; tail "$work/server.log"; exit 1 ;;
    esac
done
kill $SAMPLER; wait $SAMPLER 2>/dev/null || true
peak=$(sort -n "$work/samples" | tail -1)
# Reading it back must work too (and is part of what a user does).
curl -fsS -o /dev/null "http://127.0.0.1:$PORT/connections/c1?provider_config_key=m" -H "Authorization: Bearer $KEY"
after=$(rss)
python3 - "$idle" "$peak" "$after" "$SIZE_MB" "$WRITES" "$code" <<'PY'
import sys
idle, peak, after, mb, n, code = (int(x) for x in sys.argv[1:])
print(f"{n} writes of {mb} MB metadata, answered {code}")
print(f"idle RSS   {idle/1024:7.1f} MB")
print(f"peak RSS   {peak/1024:7.1f} MB  ({peak/idle:.1f}x idle)")
print(f"after RSS  {after/1024:7.1f} MB  ({after/idle:.1f}x idle)")
PY
