# a comment comes first, so the next line is only a comment
# escape=`
FROM alpine:3.20 AS first `
RUN echo
