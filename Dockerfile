# syntax=docker/dockerfile:1
# tesla2mqtt: a static binary on an empty base, run as uid 10001.
#   docker build -t tesla2mqtt .
#   docker run -v tesla2mqtt-data:/data -v ./config.toml:/config/config.toml:ro -p 8088:8088 tesla2mqtt
# Multi-arch: docker buildx build --platform linux/amd64,linux/arm64,linux/arm/v7,linux/arm/v6 .
# packaging/docker/Dockerfile.prebuilt makes the same image from a release
# binary (what CI builds with buildah); everything from USER on is the same
# in both files, and a test compares them.

FROM --platform=$BUILDPLATFORM golang:1.26-bookworm AS build
ARG TARGETOS TARGETARCH TARGETVARIANT
ARG VERSION=dev
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# CGO off: one static binary, cross-compiled for the target (GOARM from v6/v7).
# rootfs/ is the image: binary, CA certificates, time zones and the default
# config; state/data/ the empty state folder (copied apart, to be owned by
# the image's user; its parent is copied so that its 0700 mode comes along).
RUN set -eu; \
    r=/out/rootfs; \
    mkdir -p $r/usr/local/bin $r/etc/ssl/certs $r/usr/share $r/config /out/state/data; \
    CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH GOARM=${TARGETVARIANT#v} \
      go build -trimpath -ldflags="-s -w -X main.buildVersion=${VERSION}" -o $r/usr/local/bin/tesla2mqtt ./cmd/tesla2mqtt; \
    cp /etc/ssl/certs/ca-certificates.crt $r/etc/ssl/certs/; \
    cp -a /usr/share/zoneinfo $r/usr/share/; \
    cp packaging/docker/config.toml $r/config/config.toml; \
    chmod 0644 $r/config/config.toml; \
    chmod 0700 /out/state/data

FROM scratch
ARG VERSION=dev
COPY --from=build /out/rootfs/ /
COPY --from=build --chown=10001:10001 /out/state/ /
USER 10001:10001
# Token, budget counters and session cache: a named volume keeps them and is
# created owned by 10001. A host folder must belong to 10001 (`run` says so).
VOLUME ["/data"]
WORKDIR /data
# 8088: status page, /healthz and /metrics; 1883: the embedded broker, when
# [mqtt] url is empty (set [broker] addr = "0.0.0.0:1883" and broker users).
EXPOSE 8088 1883
# The health check reads [http] addr from the same config as `run`.
HEALTHCHECK --interval=30s --timeout=10s --start-period=60s --retries=3 \
    CMD ["/usr/local/bin/tesla2mqtt", "healthcheck", "-c", "/config/config.toml"]
ENTRYPOINT ["/usr/local/bin/tesla2mqtt"]
CMD ["run", "-c", "/config/config.toml"]
LABEL org.opencontainers.image.title="tesla2mqtt" \
      org.opencontainers.image.description="Tesla Fleet API to MQTT bridge with Home Assistant discovery" \
      org.opencontainers.image.source="https://github.com/tesla2mqtt/tesla2mqtt" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${VERSION}"
