FROM alpine:3.20 AS tools
FROM debian:12
RUN --mount=type=bind,from=tools,source=/bin,target=/t \
    --mount=type=cache,target=/var/cache/apt,from=busybox:1.36 \
    --mount=from=ghcr.io/acme/data:1,target=/data \
    --mount=type=tmpfs,target=/tmp \
    --mount=type=secret,id=token \
    --mount=type=bind,from=scratch,target=/empty \
    --mount="type=bind,from=quoted/img:1",target=/q \
    apt-get update
