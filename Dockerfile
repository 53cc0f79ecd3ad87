# syntax=docker/dockerfile:1
# basewarm service image: multi-stage (compile, then a slim runtime), non-root, `basewarm serve`.
# Whole-image ARGs (not a version spliced into a name) so basewarm can rewrite them to its mirror.
ARG NODE_IMAGE=node:24-bookworm
ARG NODE_RUNTIME_IMAGE=node:24-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
# --ignore-scripts: compile TypeScript explicitly below; better-sqlite3 is built for this Node.
RUN npm ci --ignore-scripts && npm rebuild better-sqlite3
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY testkit ./testkit
COPY bench ./bench
COPY demo ./demo
COPY scripts/bundle.mjs ./scripts/
# No code cache here: the runtime stage writes it with its own Node.
RUN npx tsc -p tsconfig.build.json && node scripts/bundle.mjs --no-code-cache && npm prune --omit=dev

FROM ${NODE_RUNTIME_IMAGE} AS runtime
# buildah is the builder that works without a daemon; buildctl/buildx users mount their own client.
RUN apt-get update \
 && apt-get install -y --no-install-recommends buildah ca-certificates \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY package.json ./
COPY config ./config
# The code cache must come from the Node that runs basewarm (V8 refuses another's), which may not be
# the build stage's: write it again here.
COPY scripts/code-cache.mjs ./scripts/
RUN node scripts/code-cache.mjs --strict
RUN useradd --system --uid 10001 --home-dir /var/lib/basewarm --create-home basewarm
USER 10001
ENV NODE_ENV=production STORAGE_DRIVER=vfs BUILDAH_ISOLATION=chroot
VOLUME ["/var/lib/basewarm"]
# No Node flags: the copy itself keeps the dead read buffers of a transfer from piling up
# (src/copy/young-garbage.ts), so the image runs basewarm exactly as `npm install -g` does.
ENTRYPOINT ["node", "/app/dist/src/cli/main.js"]
CMD ["serve", "--config", "/etc/basewarm/basewarm.yaml"]
