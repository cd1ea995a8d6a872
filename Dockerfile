# fastintercom over Streamable HTTP. Build: `docker build -t fastintercom .`
# The toolchain file pins Rust and brings the wasm32-wasip2 target the built-in tools are compiled for.
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN rustup show active-toolchain && rustup target add wasm32-wasip2 \
    && cargo build --release --locked -p fastintercom \
    && cp target/release/fastintercom /fastintercom

FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates curl \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --user-group --home-dir /data --no-create-home fastintercom \
    && mkdir -p /data && chown fastintercom:fastintercom /data
COPY --from=build /fastintercom /usr/local/bin/fastintercom
USER fastintercom
ENV FASTINTERCOM_DATA_DIR=/data
VOLUME ["/data"]
EXPOSE 8765
HEALTHCHECK --interval=30s --timeout=3s --start-period=60s CMD curl -fsS http://127.0.0.1:8765/health || exit 1
ENTRYPOINT ["fastintercom"]
# 0.0.0.0 needs an API key: `docker compose run --rm fastintercom keys create --name NAME` first.
CMD ["serve", "--http", "0.0.0.0:8765"]
