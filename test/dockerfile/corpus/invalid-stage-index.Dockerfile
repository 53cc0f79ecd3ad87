FROM alpine:3.20
COPY --from=5 /x /x
