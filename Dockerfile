# syntax=docker/dockerfile:1
# Build: compile TypeScript to dist/ with the full toolchain.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY proto ./proto
COPY src ./src
RUN npm run build && npm prune --omit=dev

# Runtime: production dependencies, compiled code and the protos only; runs as a non-root user.
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
# The reference chart passes only flags, so `epp serve` is the entry point.
ENTRYPOINT ["epp", "serve"]
