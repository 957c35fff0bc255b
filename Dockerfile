# syntax=docker/dockerfile:1
#
# pipedream-mcp: one static binary (CGO_ENABLED=0) on distroless, run as non-root.
#
# Build (needs BuildKit, the default builder since Docker 23, for RUN --mount):
#   docker build -t pipedream-mcp \
#     --build-arg VERSION="$(git describe --tags --always --dirty)" \
#     --build-arg COMMIT="$(git rev-parse --short HEAD)" .
# Both build args are optional; without them `pipedream-mcp version` says "dev".
# Multi-arch: docker buildx build --platform linux/amd64,linux/arm64 ...
#   (the build stage runs on the build host and cross-compiles; no emulation).
#
# Run. The image's ENTRYPOINT is the binary and there is no default CMD, so a
# container given no arguments takes its configuration from the PIPEDREAM_*
# environment alone (and says what is missing); pass flags after the image name.
#
#   stdio, embedded sandbox (-i keeps stdin open; MCP frames go over it):
#     docker run --rm -i pipedream-mcp --sandbox
#
#   Streamable HTTP on port 8080: inside a container the server must listen on
#   0.0.0.0, and --auth none is allowed only on a loopback address, so give it
#   API keys (or --auth jwt with PD_MCP_JWT_SECRET):
#     printf '%s: demo-user\n' "$(openssl rand -hex 32)" > keys.yaml && chmod 600 keys.yaml
#     docker run --rm -p 127.0.0.1:8080:8080 --user "$(id -u):$(id -g)" \
#       -v "$PWD/keys.yaml:/etc/pipedream-mcp/keys.yaml:ro" pipedream-mcp \
#       --sandbox --transport http --addr 0.0.0.0:8080 \
#       --auth keys --api-keys-file /etc/pipedream-mcp/keys.yaml
#   (--user lets the container read the owner-only keys file; without it the
#   image runs as uid 65532, "nonroot".) Clients send "Authorization: Bearer <key>"
#   to http://localhost:8080/mcp; GET /healthz and /readyz suit orchestrator probes.
#
#   With a real project: -e PIPEDREAM_CLIENT_ID -e PIPEDREAM_CLIENT_SECRET
#   -e PIPEDREAM_PROJECT_ID -e PIPEDREAM_PROJECT_ENVIRONMENT, or mount a --config
#   file and its secret files; see the README.

# go.mod's toolchain line: releases are built with go1.26.11 or a newer 1.26 patch.
ARG GO_VERSION=1.26.11

FROM --platform=$BUILDPLATFORM golang:${GO_VERSION} AS build
# The official image sets GOTOOLCHAIN=local; auto makes an image older than
# go.mod's toolchain line fetch that toolchain instead of building with the
# older standard library.
ENV GOTOOLCHAIN=auto CGO_ENABLED=0
WORKDIR /src
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod \
    go mod download
COPY . .
# Set by BuildKit from --platform (default: the builder's own platform).
ARG TARGETOS
ARG TARGETARCH
ARG VERSION=""
ARG COMMIT=""
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    GOOS="$TARGETOS" GOARCH="$TARGETARCH" go build -trimpath -buildvcs=false \
      -ldflags "-s -w -X github.com/pipedream-mcp/pipedream-mcp/server/app.version=${VERSION} -X github.com/pipedream-mcp/pipedream-mcp/server/app.commit=${COMMIT}" \
      -o /out/pipedream-mcp . \
 && if [ "$TARGETOS/$TARGETARCH" = "$(go env GOHOSTOS)/$(go env GOHOSTARCH)" ]; then /out/pipedream-mcp version; fi

# Distroless static: CA certificates, tzdata and /etc/passwd, no shell, no libc.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/pipedream-mcp /usr/local/bin/pipedream-mcp
# 65532 is "nonroot" in distroless; numeric so Kubernetes runAsNonRoot can check it.
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/pipedream-mcp"]
