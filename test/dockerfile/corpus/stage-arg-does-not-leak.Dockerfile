ARG V=3.19
FROM alpine:${V} AS a
ARG V=3.20
ENV V=3.21
FROM alpine:${V} AS b
