FROM localhost:5000/team/app@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef AS a
FROM [::1]:5000/img:1 AS b
FROM index.docker.io/library/ubuntu:24.04
