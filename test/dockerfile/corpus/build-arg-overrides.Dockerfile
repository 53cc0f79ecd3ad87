ARG TAG=3.19
ARG BASE
FROM alpine:${TAG}
FROM ${UNDECLARED:-busybox}:latest
FROM ${BASE:-debian}:12
