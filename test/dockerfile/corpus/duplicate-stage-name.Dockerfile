FROM alpine:3.20 AS base
FROM debian:12 AS BASE
