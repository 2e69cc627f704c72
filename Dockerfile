# Build stage: a release binary.
FROM rust:1-slim-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY src ./src
COPY python ./python
COPY benches ./benches
COPY tests ./tests
RUN cargo build --release --locked --bin n8n-python-runner

# Runtime stage: the binary and Debian's python3, run as an unprivileged user.
FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends python3 tini \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 1000 --home-dir /home/runner --create-home runner
COPY --from=build /src/target/release/n8n-python-runner /usr/local/bin/n8n-python-runner
COPY examples /usr/share/n8n-python-runner/examples
USER runner
WORKDIR /home/runner
ENV N8N_RUNNERS_HEALTH_CHECK_SERVER_ENABLED=true \
    N8N_RUNNERS_HEALTH_CHECK_SERVER_HOST=0.0.0.0 \
    N8N_RUNNERS_HEALTH_CHECK_SERVER_PORT=5681
EXPOSE 5681
HEALTHCHECK --interval=15s --timeout=5s --start-period=10s --retries=3 \
    CMD ["/usr/local/bin/n8n-python-runner", "healthcheck"]
# tini reaps any orphaned process a task leaves behind when the runner is PID 1.
ENTRYPOINT ["/usr/bin/tini", "--", "/usr/local/bin/n8n-python-runner"]
