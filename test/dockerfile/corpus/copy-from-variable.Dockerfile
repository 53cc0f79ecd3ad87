ARG IMG=nginx:1.27
FROM alpine:3.20
COPY --from=${IMG} /etc/nginx /etc/nginx
