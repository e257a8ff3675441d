# kedge's container images, built from source.
#
#   docker build -t kedge .                    # minimal: the static binary, CA certificates, user 65532
#   docker build --target full -t kedge:full . # plus git, helm, kubectl and kustomize, for rendering
#   docker build --target binary -o dist .     # only the binary, for the release archives
#
# The binary is linked statically against musl, so the minimal image needs
# no libc: distroless/static has CA certificates, /etc/passwd with the
# `nonroot` user (65532) and nothing else. The chart runs it read-only.

ARG RUST_VERSION=1
ARG ALPINE_VERSION=3.22

FROM rust:${RUST_VERSION}-alpine${ALPINE_VERSION} AS build
# C toolchain and static libraries for vendored libgit2 (https, ssh) and
# aws-lc; perl and make build aws-lc.
RUN apk add --no-cache musl-dev perl make cmake pkgconf openssl-dev openssl-libs-static zlib-static
ENV OPENSSL_STATIC=1 CARGO_INCREMENTAL=0 CARGO_TERM_COLOR=never
WORKDIR /src
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p kedge-cli \
 && install -D -m 0755 target/release/kedge /out/kedge \
 && /out/kedge --version

FROM scratch AS binary
COPY --from=build /out/kedge /kedge

FROM alpine:${ALPINE_VERSION} AS full
# The CLIs kedge renders with (Helm charts with helm, Kustomize overlays
# with `kubectl kustomize` or kustomize), and git.
RUN apk add --no-cache ca-certificates git helm kubectl kustomize \
 && adduser -D -H -u 65532 -g nonroot nonroot
COPY --from=build /out/kedge /usr/local/bin/kedge
USER 65532:65532
ENV HOME=/tmp KEDGE_CACHE_DIR=/var/cache/kedge
ENTRYPOINT ["/usr/local/bin/kedge"]
CMD ["serve", "--controller"]

FROM gcr.io/distroless/static-debian12:nonroot AS minimal
COPY --from=build /out/kedge /kedge
USER 65532:65532
ENV HOME=/tmp KEDGE_CACHE_DIR=/var/cache/kedge
ENTRYPOINT ["/kedge"]
CMD ["serve", "--controller"]
