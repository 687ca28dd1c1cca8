# syntax=docker/dockerfile:1
#
# The custom CoreDNS (every standard plugin plus clusterzone) as a small,
# non-root image:
#
#   docker build -t clusterzone:dev .
#
# It reads its Corefile from /etc/coredns/Corefile (deploy/server.yaml mounts
# a ConfigMap there).
#
# The binary is static (CGO_ENABLED=0) and the final stage is distroless
# "static" (CA certificates for Route 53's HTTPS, /etc/passwd with the nonroot
# user, nothing else: no shell, no package manager). It runs as 65532:65532
# and needs no capability: listen on a port above 1023 (deploy/server.yaml
# uses 1053 and maps the Service's port 53 to it).

ARG GO_VERSION=1.26

FROM --platform=$BUILDPLATFORM golang:${GO_VERSION} AS build
WORKDIR /src
# Modules first, so that a source change does not download them again.
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod \
    go mod download
COPY cmd/ cmd/
COPY plugin/ plugin/
ARG TARGETOS
ARG TARGETARCH
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH \
    go build -trimpath -ldflags='-s -w' -o /out/coredns ./cmd/coredns

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/coredns /coredns
USER 65532:65532
EXPOSE 1053/udp 1053/tcp 8080/tcp 8181/tcp 9153/tcp
ENTRYPOINT ["/coredns"]
CMD ["-conf", "/etc/coredns/Corefile"]
