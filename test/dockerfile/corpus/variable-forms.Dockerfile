ARG IMG=docker.io/library/alpine:3.20
ARG NAME=alpine
ARG EMPTY=
FROM ${EMPTY:-busybox}:1 AS s1
FROM ${EMPTY-busybox}alpine:2 AS s2
FROM alpine${NAME:+:3}
FROM alpine${NOPE+:nope}
FROM ${IMG#*/}
FROM ${IMG##*/}
FROM ${IMG%:*}
FROM ${IMG%%/*}/library/redis
FROM ${NAME/al/x}:4
FROM ${NAME//[a]/b}:5
FROM ${NAME:?must-be-set}:6
FROM \${NAME}x
