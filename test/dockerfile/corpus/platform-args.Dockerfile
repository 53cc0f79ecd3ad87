FROM --platform=$BUILDPLATFORM golang:1.22 AS build
FROM alpine:3.20 AS base-amd64
FROM arm64v8/alpine:3.20 AS base-arm64
FROM base-$TARGETARCH AS final
COPY --from=build /out /out
FROM --platform=${TARGETOS}/${TARGETARCH} busybox:${TARGETARCH}
