FROM --platform=linux/arm64 --platform=linux/amd64 alpine:3.20
