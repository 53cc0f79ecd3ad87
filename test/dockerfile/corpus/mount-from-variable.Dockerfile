ARG IMG=nginx:1.27
FROM alpine:3.20
RUN --mount=type=bind,from=$IMG,target=/n true
