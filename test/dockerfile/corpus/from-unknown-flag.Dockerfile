FROM --plaform=linux/arm64 alpine:3.20
