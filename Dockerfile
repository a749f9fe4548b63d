# syntax=docker/dockerfile:1
# Multi-stage build: a static, reproducible binary (-trimpath, no cgo, no
# build id) on a minimal non-root base. Build:
#   docker build -t designation --build-arg VERSION=$(git describe --always) .
# Run (the data lives in the /data volume):
#   docker run -p 8080:8080 -v designation-data:/data -e PUBLIC_URL=https://binomes.example.org designation
FROM golang:1.26-bookworm AS build
WORKDIR /src
ENV CGO_ENABLED=0 GOFLAGS=-trimpath
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN go build -ldflags="-s -w -buildid= -X main.version=${VERSION}" -o /out/server ./server \
 && mkdir -p /out/data

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/server /server
# The nonroot user (uid 65532) owns the data folder.
COPY --from=build --chown=65532:65532 /out/data /data
ENV DATA_DIR=/data PORT=8080
VOLUME ["/data"]
EXPOSE 8080
USER 65532:65532
# The base has no shell or curl: the binary checks its own /healthz. It
# reads the same environment as the server, so set the port with PORT (not
# with an -addr argument, which the health check would not see).
HEALTHCHECK --interval=15s --timeout=3s --start-period=10s --retries=3 \
  CMD ["/server", "-healthcheck"]
ENTRYPOINT ["/server"]
