"""The proxy benchmark's report (bench/run.sh): prints the table and the targets, and writes
the table into docs/performance.md and README.md between their `bench/run.sh` markers.

Reads lines from stdin: `R <target>,<conns> <req/s> <p50 ms> <p99 ms>` and
`S <server> <peak RSS kB> <CPU µs per request> <call records dropped>`; the rest from the
environment bench/run.sh exports."""

import datetime
import os
import re
import sys

result, server = {}, {}
for line in sys.stdin:
    kind, *fields = line.split()
    if kind == "R":
        target, conns = fields[0].split(",")
        result[target, int(conns)] = [float(x) for x in fields[1:4]]
    elif kind == "S":
        server[fields[0]] = (int(fields[1]), float(fields[2]), fields[3])

env = os.environ
names = {"sqlite": "nango-rs, SQLite (default)", "pg": "nango-rs, PostgreSQL"}
servers = [s for s in ("sqlite", "pg") if s in server]
direct, nginx = result["direct", 64], result["nginx", 64]
nginx1 = result["nginx", 1]

rows = [
    "| target | c=64 req/s | vs nginx | c=64 p50 ms | c=64 p99 ms | c=1 p50 ms | c=1 p99 ms | CPU µs/req | RSS peak MB | records dropped |",
    "|---|---|---|---|---|---|---|---|---|---|",
    f"| upstream, direct | {direct[0]:,.0f} | | {direct[1]:.3f} | {direct[2]:.3f} | {result['direct', 1][1]:.3f} | {result['direct', 1][2]:.3f} | | | |",
    f"| nginx reference proxy | {nginx[0]:,.0f} | 1.00x | {nginx[1]:.3f} | {nginx[2]:.3f} | {nginx1[1]:.3f} | {nginx1[2]:.3f} | {float(env['REF_CPU']):.1f} (with the upstream) | | |",
]
bare, bare1, bare_cpu = result.get(("bare", 64)), result.get(("bare", 1)), float(env.get("BARE_CPU", "nan"))
if bare:
    rows.append(
        f"| bare hyper proxy (floor: no auth, history, metrics) | {bare[0]:,.0f} | {bare[0] / nginx[0]:.2f}x | {bare[1]:.3f} | {bare[2]:.3f} | {bare1[1]:.3f} | {bare1[2]:.3f} | {bare_cpu:.1f} | | |"
    )
for s in servers:
    r64, r1 = result[s, 64], result[s, 1]
    peak, cpu, dropped = server[s]
    rows.append(
        f"| {names[s]} | {r64[0]:,.0f} | **{r64[0] / nginx[0]:.2f}x** | {r64[1]:.3f} | {r64[2]:.3f} | {r1[1]:.3f} | {r1[2]:.3f} | {cpu:.1f} | {peak / 1024:.1f} | {dropped} |"
    )

mib_nginx, mib_ours = float(env["MIB_NGINX"]), float(env["MIB_OURS"])
stream_added = (int(env["STREAM_PEAK"]) - int(env["BEFORE_STREAM"])) / 1024
upload_added = (int(env["UPLOAD_PEAK"]) - int(env["BEFORE_UPLOAD"])) / 1024
code, sent = env["UPLOAD"].split()
s = result["sqlite", 64]
s1 = result["sqlite", 1]
peak, cpu, _ = server["sqlite"]


def verdict(ok):
    return "met" if ok else "**missed**"


targets = [
    f"- c=64 throughput: {s[0] / nginx[0]:.2f}x nginx (target >= 0.7x): {verdict(s[0] / nginx[0] >= 0.7)}",
    f"- c=1 p50: +{s1[1] - nginx1[1]:.3f} ms over nginx (target <= 0.05 ms): {verdict(s1[1] - nginx1[1] <= 0.05)}",
    f"- CPU per proxied request: {cpu:.1f} µs (target <= 40 µs): {verdict(cpu <= 40)}",
    *(
        [
            f"- the same against the bare hyper proxy of this run: {s[0] / bare[0]:.2f}x its req/s, "
            f"+{s1[1] - bare1[1]:.3f} ms at c=1, +{cpu - bare_cpu:.1f} µs of CPU per request (the proxy's own work)"
        ]
        if bare
        else []
    ),
    f"- RSS peak under load: {peak / 1024:.1f} MB (target < 40 MB): {verdict(peak / 1024 < 40)}",
    f"- streaming 1 GiB down ({int(env['BYTES']) / 2**30:.2f} GiB): +{stream_added:.1f} MB; up ({int(float(sent)) / 2**30:.2f} GiB, upstream answered {code}): +{upload_added:.1f} MB (target < 16 MB): {verdict(max(stream_added, upload_added) < 16)}",
    f"- repeated 1 MiB downloads (4 connections): {mib_ours:,.0f} MiB/s vs nginx {mib_nginx:,.0f} MiB/s (target: at least nginx's): {verdict(mib_ours >= mib_nginx)}",
]

date = datetime.date.today().isoformat()
# Settings the caller passed to the servers (run.sh's servers inherit NANGO_* variables).
extra = sorted(f"{k}={v}" for k, v in env.items() if k.startswith("NANGO_"))
config = "configuration with " + ", ".join(f"`{e}`" for e in extra) if extra else "default configuration"
header = (
    f"`bash bench/run.sh` at commit `{env['COMMIT']}`, {date}, this 2-core machine: {config} "
    f"(call history, rate limiter and metrics on, logs at `warn`), medians of {env['REPEATS']} wrk runs of "
    f"{env['DURATION']} s, two server worker threads, nginx with one worker."
)
block = "\n".join([header, "", *rows, "", *targets])
print()
print(block)

if env.get("BENCH_WRITE", "1") != "0":
    start, end = "<!-- bench/run.sh: start -->", "<!-- bench/run.sh: end -->"
    for path in ("docs/performance.md", "README.md"):
        text = open(path, encoding="utf-8").read()
        pattern = re.compile(re.escape(start) + ".*?" + re.escape(end), re.S)
        if not pattern.search(text):
            print(f"(no bench/run.sh markers in {path}: not written)", file=sys.stderr)
            continue
        text = pattern.sub(lambda _: f"{start}\n{block}\n{end}", text)
        open(path, "w", encoding="utf-8").write(text)
    print("\n(written into docs/performance.md and README.md)")
