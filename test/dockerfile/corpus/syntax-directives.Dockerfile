#check=skip=all
#  syntax = registry.example.com/frontends/dockerfile:1.9  opt=1
FROM alpine:3.20
