ARG BASE
FROM ${BASE:?set-BASE-with-build-arg}
