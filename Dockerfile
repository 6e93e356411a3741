# syntax=docker/dockerfile:1

# ---- build ------------------------------------------------------------------
# The workspace needs rustc >= 1.94 (rust-version in Cargo.toml).
FROM rust:1.95-bookworm AS builder
WORKDIR /src
COPY . .
# Registry and target live in BuildKit cache mounts, which are not part of the
# image: copy the binary out of target/ inside the same RUN.
RUN --mount=type=cache,target=/usr/local/cargo/registry,sharing=locked \
    --mount=type=cache,target=/usr/local/cargo/git,sharing=locked \
    --mount=type=cache,target=/src/target,sharing=locked \
    cargo build --release --locked -p nango-server \
    && cp target/release/nango-server /usr/local/bin/nango-server

# ---- runtime ----------------------------------------------------------------
FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/*
# Unprivileged user; /data is its home and the server's data directory.
RUN groupadd --system --gid 10001 nango \
    && useradd --system --uid 10001 --gid nango --home-dir /data --no-create-home --shell /usr/sbin/nologin nango \
    && install -d -o nango -g nango -m 0750 /data
COPY --from=builder /usr/local/bin/nango-server /usr/local/bin/nango-server

ENV NANGO_DATA_DIR=/data \
    SERVER_PORT=3003
WORKDIR /data
USER 10001:10001
EXPOSE 3003
# No curl in slim images: the binary probes http://127.0.0.1:$SERVER_PORT/health itself.
HEALTHCHECK --interval=15s --timeout=5s --start-period=10s --retries=3 \
    CMD ["/usr/local/bin/nango-server", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/nango-server"]
CMD ["serve"]
