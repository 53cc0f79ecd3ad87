FROM alpine:3.20
RUN ["sh", "-c", "cat <<EOF"]
FROM busybox:1.36
