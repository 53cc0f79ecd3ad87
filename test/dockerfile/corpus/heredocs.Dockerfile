FROM debian:12 AS build
RUN <<EOF
FROM evil/one:1
COPY --from=evil/two:2 / /
EOF
RUN <<-"EOT" bash
	FROM evil/three:3
	EOT
COPY <<A <<'B' /dst/
FROM evil/four:4
A
FROM evil/five:5
B
RUN cat<<EOF
FROM busybox:1.36
FROM node:20-slim
