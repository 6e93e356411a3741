# Shared by the benchmark scripts (sourced, not run): a scratch directory whose processes stop
# with the script, free ports, and nginx serving "$work/www" as the upstream.

work=$(mktemp -d)
chmod 755 "$work"   # nginx workers run as an unprivileged user
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# nginx_serve BLOCKS: nginx (one worker, nginx's defaults without sendfile, keep-alive without
# end) with BLOCKS (upstream and server blocks) inside its http block, writing to "$work".
# No sendfile: with it, headers and a small body leave in two segments and a keep-alive client
# waits for its delayed ACK (~40 ms per request).
nginx_serve() {
    cat > "$work/nginx.conf" <<CONF
worker_processes 1;
daemon off;
pid $work/nginx.pid;
error_log $work/nginx-error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    sendfile off;
    keepalive_requests 1000000;
$1
}
CONF
    nginx -c "$work/nginx.conf" -p "$work" &
    pids+=($!)
}

# static_upstream PORT: nginx serving "$work/www" on 127.0.0.1:PORT, with JSON as the
# default type.
static_upstream() {
    nginx_serve "    server { listen 127.0.0.1:$1; root $work/www; default_type application/json; }"
}
