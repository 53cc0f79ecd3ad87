FROM \
# a comment between the parts of FROM
    ghcr.io/acme/base:1.0 \

    AS \
  # another one
    base
RUN apk add \
      curl \
  && echo done
FROM base
