#!/usr/bin/env bash
# How PostgreSQL takes a batch of call records: `COPY … FROM STDIN` (what the call-history
# writer sends since it replaced `INSERT … SELECT FROM UNNEST`) against the former statement,
# on a throw-away table shaped like `request_logs` (its three indexes included).
#
#   bash bench/pg_insert.sh     (BENCH_PG_URL, default postgres://postgres@127.0.0.1:5432/postgres;
#                                ROWS per batch, default 4096 as the writer; BATCHES, default 10)
#
# Prints the median time per batch of each, measured by psql's \timing in one session,
# alternating the two.
set -euo pipefail
command -v gawk >/dev/null || { apt-get update -qq && apt-get install -y -qq gawk >/dev/null; }
URL=${BENCH_PG_URL:-postgres://postgres@127.0.0.1:5432/postgres}
ROWS=${ROWS:-4096}; BATCHES=${BATCHES:-10}
work=$(mktemp -d); trap 'rm -rf "$work"; psql "$URL" -qc "DROP TABLE IF EXISTS bench_request_logs" >/dev/null 2>&1 || true' EXIT
COLS="environment_id, request_id, at_ms, kind, operation, method, path, status, duration_ms, integration, connection_id, upstream_host, upstream_path, upstream_status, attempts, error_code, function"
python3 - "$ROWS" > "$work/rows.tsv" <<'PY'
import sys, uuid
for i in range(int(sys.argv[1])):
    print(f"1\t{uuid.uuid4()}\t{1764460000000 + i}\tproxy\t\\N\tGET\t/proxy/items/{i}\t200\t0.42\tbench\tc{i % 50}\t"
          f"api.example.com\t/items/{i}\t200\t1\t\\N\t\\N")
PY
{
    echo "DROP TABLE IF EXISTS bench_request_logs;"
    echo "CREATE TABLE bench_request_logs (id bigserial PRIMARY KEY, environment_id int8 NOT NULL, request_id text NOT NULL, at_ms int8 NOT NULL, kind text NOT NULL, operation text, method text NOT NULL, path text NOT NULL, status int4 NOT NULL, duration_ms float8 NOT NULL, integration text, connection_id text, upstream_host text, upstream_path text, upstream_status int4, attempts int4, error_code text, function text);"
    echo "CREATE INDEX ON bench_request_logs (environment_id, at_ms); CREATE INDEX ON bench_request_logs (environment_id, connection_id, at_ms); CREATE INDEX ON bench_request_logs (environment_id, integration, at_ms);"
    echo "CREATE TEMP TABLE src AS SELECT * FROM bench_request_logs;"
    echo "\\copy src ($COLS) from '$work/rows.tsv'"
    echo "SELECT array_agg(environment_id) a1, array_agg(request_id) a2, array_agg(at_ms) a3, array_agg(kind) a4, array_agg(operation) a5, array_agg(method) a6, array_agg(path) a7, array_agg(status) a8, array_agg(duration_ms) a9, array_agg(integration) a10, array_agg(connection_id) a11, array_agg(upstream_host) a12, array_agg(upstream_path) a13, array_agg(upstream_status) a14, array_agg(attempts) a15, array_agg(error_code) a16, array_agg(function) a17 FROM src \\gset"
    echo "PREPARE unnest_insert(int8[], text[], int8[], text[], text[], text[], text[], int4[], float8[], text[], text[], text[], text[], int4[], int4[], text[], text[]) AS INSERT INTO bench_request_logs ($COLS) SELECT * FROM UNNEST(\$1, \$2, \$3, \$4, \$5, \$6, \$7, \$8, \$9, \$10, \$11, \$12, \$13, \$14, \$15, \$16, \$17);"
    echo "\\timing on"
    for _ in $(seq 1 "$BATCHES"); do
        echo "\\echo copy"
        echo "\\copy bench_request_logs ($COLS) from '$work/rows.tsv'"
        echo "\\echo unnest"
        echo "EXECUTE unnest_insert(:'a1', :'a2', :'a3', :'a4', :'a5', :'a6', :'a7', :'a8', :'a9', :'a10', :'a11', :'a12', :'a13', :'a14', :'a15', :'a16', :'a17');"
    done
} > "$work/run.sql"
psql "$URL" -q -v ON_ERROR_STOP=1 -f "$work/run.sql" 2>&1 | grep -v NOTICE | gawk -v rows="$ROWS" '
    /^(copy|unnest)$/ {what = $1; next}
    /^Time:/ {t[what] = t[what] " " $2}
    END {
        for (w in t) {
            n = split(substr(t[w], 2), v, " "); asort(v)
            printf "%-7s median %6.1f ms per batch of %d rows (%d batches)\n", w, v[int((n + 1) / 2)], rows, n
        }
    }'
