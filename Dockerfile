# syntax=docker/dockerfile:1
# Build: compile TypeScript to dist/ with the full toolchain, then drop the dev dependencies.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY proto ./proto
COPY src ./src
RUN npm run build && npm prune --omit=dev --no-audit --no-fund

# Runtime: production dependencies, compiled code and the protos only (no src/, so bin/epp.js runs
# dist/); files owned by root, process run as a non-root user.
FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY proto ./proto
COPY bin ./bin
RUN ln -s /app/bin/epp.js /usr/local/bin/epp
USER 65532:65532
EXPOSE 9002 9003 9090
# The reference chart passes only flags, so `epp serve` is the entry point (other commands:
# `--entrypoint epp` / Kubernetes `command`). The picker handles SIGTERM itself (drain, then exit), so
# it can run as PID 1; `docker run --init` / compose `init: true` adds zombie reaping. No HEALTHCHECK:
# Kubernetes probes gRPC health on 9003 directly.
ENTRYPOINT ["epp", "serve"]
