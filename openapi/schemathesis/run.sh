#!/usr/bin/env bash
# Runs schemathesis against a freshly started server with the checked-in document, every
# implemented operation, bounded (SCHEMATHESIS_MAX_EXAMPLES per operation, default 25; fixed
# seed so failures reproduce). Fails on a 5xx, a response that violates the document (status,
# content type, headers, body schema) or an accepted request the document forbids.
#
# Checks not run, and why:
# - positive_data_acceptance (a schema-valid request rejected): our validation follows Nango's
#   zod rules, stricter than JSON Schema expresses (cross-field rules, provider-specific
#   integration_config, existence of the named integration); those 400s are the contract.
# - unsupported_method (405 for an undeclared method): like Nango, unknown method/path pairs
#   answer 404 in the error envelope (docs/compatibility.md, row 2).
# The proxy operations are excluded: they return the upstream's response, whatever it is
# (their own errors are covered by tests/tests/e2e/proxy.rs).
#
#   bash openapi/schemathesis/run.sh     (NANGO_SERVER_BIN defaults to target/debug/nango-server)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
server="${NANGO_SERVER_BIN:-$root/target/debug/nango-server}"
[ -x "$server" ] || { echo "build the server first: cargo build -p nango-server"; exit 1; }

venv="$here/.venv"
if [ ! -x "$venv/bin/schemathesis" ] || [ "$here/requirements.txt" -nt "$venv/.installed" ]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q --disable-pip-version-check -r "$here/requirements.txt"
    touch "$venv/.installed"
fi

data="$(mktemp -d)"
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
NANGO_DATA_DIR="$data" SERVER_PORT="$port" NANGO_BIND_ADDRESS=127.0.0.1 RUST_LOG=warn "$server" > "$data/server.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true; wait $pid 2>/dev/null || true; rm -rf "$data"' EXIT
base="http://127.0.0.1:$port"
for _ in $(seq 1 100); do curl -fsS -o /dev/null "$base/health" 2>/dev/null && break; sleep 0.1; done
curl -fsS -o /dev/null "$base/health" || { echo "the server did not start"; cat "$data/server.log"; exit 1; }

export NANGO_SECRET_KEY="$(cat "$data/secret-key-dev")"
# Something to find: the seed integration, a connection and a connect session.
auth=(-H "Authorization: Bearer $NANGO_SECRET_KEY" -H 'Content-Type: application/json')
curl -fsS -o /dev/null "${auth[@]}" "$base/integrations" \
    -d '{"provider":"private-api-generic","unique_key":"acme-internal","integration_config":{"baseUrl":"https://api.acme.com","keyName":"Authorization","valueTemplate":"Api-Key ${apiKey}","keyLabel":"Acme API Key"}}'
curl -fsS -o /dev/null "${auth[@]}" "$base/connections" \
    -d '{"provider_config_key":"acme-internal","connection_id":"c1","credentials":{"type":"API_KEY","apiKey":"k"}}'
# Syncs with runs and records for the sync operations (schemathesis.toml fixes their
# integration `acme-fn` and connection `c1`): the fixture project deployed, its `checked` sync
# run once (one `Thing` record). Nothing answers at the integration's base URL, so the syncs
# that read the upstream fail, quickly.
curl -fsS -o /dev/null "${auth[@]}" "$base/integrations" \
    -d '{"provider":"private-api-generic","unique_key":"acme-fn","integration_config":{"baseUrl":"http://127.0.0.1:9","keyName":"x-api-key"}}'
curl -fsS -o /dev/null "${auth[@]}" "$base/connections" \
    -d '{"provider_config_key":"acme-fn","connection_id":"c1","credentials":{"type":"API_KEY","apiKey":"k"}}'
curl -fsS -o /dev/null "${auth[@]}" "$base/sync/deploy" -d @"$root/tests/functions/fixtures/deploy-body.json"
curl -fsS -o /dev/null "${auth[@]}" "$base/sync/trigger" -d '{"syncs":["checked"],"provider_config_key":"acme-fn","connection_id":"c1"}'
deadline=$(( $(date +%s) + 30 ))
until curl -fsS "${auth[@]}" "$base/sync/status?syncs=checked&provider_config_key=acme-fn&connection_id=c1" \
        | python3 -c 'import json,sys; s=json.load(sys.stdin)["syncs"][0]; sys.exit(s.get("latestExecutionStatus") != "SUCCESS")'; do
    [ "$(date +%s)" -lt "$deadline" ] || { echo "the checked sync did not run within 30 s"; cat "$data/server.log"; exit 1; }
    sleep 0.1
done
session() { curl -fsS "${auth[@]}" "$base/connect/sessions" -d '{"end_user":{"id":"u1"}}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["data"]["token"])'; }
# Two sessions: DELETE /connect/session ends the bearer one, the submissions keep theirs.
export NANGO_SESSION_TOKEN="$(session)"
export NANGO_SUBMIT_TOKEN="$(session)"

cd "$here"
"$venv/bin/schemathesis" --config-file "$here/schemathesis.toml" run "$root/openapi/nango.json" \
    --url "$base" \
    --exclude-path-regex '^/proxy' \
    --exclude-checks positive_data_acceptance,unsupported_method \
    --phases examples,coverage,fuzzing \
    --max-examples "${SCHEMATHESIS_MAX_EXAMPLES:-25}" \
    --seed 20261123 \
    --no-color
if grep -q "panicked" "$data/server.log"; then
    echo "the server panicked during the run:"; grep -A5 panicked "$data/server.log"; exit 1
fi
