FROM golang:1.22 AS Build
RUN go build -o /out ./...

FROM build AS test
RUN go test ./...

FROM scratch
COPY --from=BUILD /out /app
COPY --from=0 /etc/ssl /etc/ssl
COPY --from=1 /x /x
COPY --from=scratch / /
