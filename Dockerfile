# syntax=docker/dockerfile:1
# tesla2mqtt: a static binary on an empty base, run as a non-root user.
#   docker build -t tesla2mqtt .
#   docker run -v tesla2mqtt-data:/data -p 8088:8088 tesla2mqtt
# Multi-arch: docker buildx build --platform linux/amd64,linux/arm64,linux/arm/v7,linux/arm/v6 .

FROM --platform=$BUILDPLATFORM golang:1.26-bookworm AS build
ARG TARGETOS TARGETARCH TARGETVARIANT
ARG VERSION=dev
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# CGO off: one static binary, cross-compiled for the target (GOARM from v6/v7).
RUN CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH GOARM=${TARGETVARIANT#v} \
    go build -trimpath -ldflags="-s -w -X main.buildVersion=${VERSION}" -o /out/tesla2mqtt ./cmd/tesla2mqtt
# The state directory, owned by the runtime user (uid 10001).
RUN mkdir -p /out/data && chown 10001:10001 /out/data && chmod 0700 /out/data

FROM scratch
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build /usr/share/zoneinfo /usr/share/zoneinfo
COPY --from=build /out/tesla2mqtt /usr/local/bin/tesla2mqtt
COPY --from=build --chown=10001:10001 /out/data /data
COPY config.example.toml /etc/tesla2mqtt/config.example.toml
USER 10001:10001
# Token, budget counters and session cache live here: mount a volume.
VOLUME ["/data"]
WORKDIR /data
# 1883: the embedded broker (when [mqtt] url is empty); 8088: status page,
# /healthz and /metrics. In the container both must listen on 0.0.0.0:
# set [broker] addr = "0.0.0.0:1883" and [http] addr = "0.0.0.0:8088".
EXPOSE 1883 8088
HEALTHCHECK --interval=30s --timeout=10s --start-period=60s --retries=3 \
    CMD ["/usr/local/bin/tesla2mqtt", "healthcheck", "--addr", "127.0.0.1:8088"]
ENTRYPOINT ["/usr/local/bin/tesla2mqtt"]
CMD ["run", "-c", "/data/config.toml"]
