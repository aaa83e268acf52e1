# syntax=docker/dockerfile:1
# The broker's production image: built in one stage, run from a second one holding only
# production dependencies and the compiled code. No secret is baked in: configuration
# comes from the environment (or *_FILE mounted secrets) at run time.
ARG NODE_VERSION=26

FROM node:${NODE_VERSION}-trixie-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
COPY scripts ./scripts
COPY prisma ./prisma
COPY prisma.config.ts tsconfig.json tsconfig.build.json ./
COPY src ./src
# `npm ci` runs the project's prepare script: prisma generate (offline) and the tsc build.
RUN npm ci --no-audit --no-fund

FROM node:${NODE_VERSION}-trixie-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
# No dev dependencies, no optional embedded PostgreSQL (the image always uses DATABASE_URL).
RUN npm ci --omit=dev --omit=optional --ignore-scripts --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY prisma/migrations ./prisma/migrations
USER node
EXPOSE 3000
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:3000/readyz').then(r => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# The same command `npm start` runs and the tests exercise (test/support/process.ts).
CMD ["node", "dist/main.js"]
