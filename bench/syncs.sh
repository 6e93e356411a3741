#!/usr/bin/env bash
# Records-store benchmark (issue 13, item 10): one command, on this machine, the baseline
# measured in the same run against the same database.
#
#   bash bench/syncs.sh [path/to/nango-server]     (default: builds target/release)
#
# For each backend (SQLite in the data directory; PostgreSQL on 127.0.0.1:5432, a database
# created and dropped for the run), starts nango-server (release build, default
# configuration: record validation on, call history on) and a local upstream (Python; every
# page built before it listens, so serving one costs a write), deploys a hand-written sync
# (bench/syncs.py: a loop of nango.get and nango.batchSave, its JSON schema checked), then:
#   1. the upstream alone: every page fetched straight, to show what the fetching costs;
#   2. the sync: POST /sync/trigger until its status says the run succeeded (finishedAt): it
#      pages through the upstream with nango.get and calls nango.batchSave per page, into a
#      table never analyzed (a first sync; autovacuum may be off on this machine's PostgreSQL);
#   3. reading: GET /records at limit READ_LIMIT until next_cursor is null;
#   4. the baseline: the records table emptied (PostgreSQL: TRUNCATE; SQLite: DELETE, VACUUM),
#      then the same rows (same JSON, same table, the same upsert the server issues) written
#      straight into the same database with one prepared multi-row INSERT and one transaction
#      per batch; only the INSERTs and commits are timed.
# The server's RSS is read at a tenth, half and all records stored and read, and sampled every
# 50 ms for the peaks. Prints records/s, the ratio to the baseline, phase times, RSS.
#
# Env: RECORDS (100000), BATCH (100), READ_LIMIT (1000), BACKENDS ("sqlite postgres"),
# PG_URL (postgresql://postgres@127.0.0.1:5432), PG_DB (nango_bench_syncs); KEEP_DB=1 keeps the
# PostgreSQL database and the SQLite data directory; ANALYZE_AT=N runs ANALYZE on PostgreSQL's
# records table once N records are stored (what autoanalyze does when autovacuum is on);
# PROFILE=<dir> records the server with `perf record --call-graph dwarf` during the sync and the
# read; COMMIT
# names the commit in the output when the server given was built from another one (default HEAD).
set -euo pipefail
cd "$(dirname "$0")/.."
SERVER=${1:-}
BACKENDS=${BACKENDS:-sqlite postgres}

# Debian's python3 with psycopg 3 (server-side prepared statements) for the PostgreSQL baseline.
PY=/usr/bin/python3
if ! "$PY" -c 'import psycopg' 2>/dev/null; then
    echo "installing python3-psycopg (Debian package)"
    apt-get update -qq && apt-get install -y -qq python3-psycopg >/dev/null
fi
command -v psql >/dev/null || { apt-get update -qq && apt-get install -y -qq postgresql-client >/dev/null; }

if [ -z "$SERVER" ]; then
    echo "building nango-server (release)"
    cargo build --release --locked -q -p nango-server
    SERVER=target/release/nango-server
fi
exec "$PY" bench/syncs.py run "$(realpath "$SERVER")" $BACKENDS
