# syntax=docker/dockerfile:1.7
ARG TAG=3.20
FROM alpine:${TAG} \
  AS app
RUN echo ok
