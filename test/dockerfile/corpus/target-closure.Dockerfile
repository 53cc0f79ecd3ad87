FROM golang:1.22 AS build
FROM node:20 AS web
RUN --mount=type=cache,from=build,target=/cache true
FROM nginx:1.27 AS unused
FROM debian:12 AS final
COPY --from=web /app /app
COPY --from=gcr.io/distroless/static:nonroot / /
FROM final AS release
