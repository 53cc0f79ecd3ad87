
# escape=`
FROM alpine:3.20 \
  # a comment inside the continuation
  
  AS a
RUN echo hello `
FROM busybox:1.36
