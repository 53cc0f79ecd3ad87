FROM alpine:3.20 AS a
COPY --from=b /x /x
FROM busybox:1.36 AS b
