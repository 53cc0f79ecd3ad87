ARG REG=registry.example.com:5000 IMG="team/app" TAG='1.0'
ARG EMPTY= UNSET
ARG COMBINED=${REG}/${IMG}
FROM ${REG}/${IMG}:${TAG} AS a
FROM $COMBINED:$TAG$EMPTY AS b
FROM "quoted/image:2" AS c
