# syntax=docker/dockerfile:1
# The pilotfish image: `pilotfish controller` (controller, xDS server and sidecar injector) and,
# run with `sh -c`, the iptables init step of injected Pods (it needs sh and iptables-restore).
#
#   docker build -t ghcr.io/pilotfish/pilotfish:0.1.0 .

ARG NODE_IMAGE=node:20-bookworm-slim

# ---- build: compile TypeScript, then drop the dev dependencies ----
FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
RUN npm run build && npm prune --omit=dev --no-audit --no-fund

# ---- runtime: node, sh and iptables; no compiler, no dev dependencies, no root ----
FROM ${NODE_IMAGE} AS runtime
RUN apt-get update \
 && apt-get install -y --no-install-recommends iptables \
 && rm -rf /var/lib/apt/lists/*
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /src/package.json ./package.json
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist/src ./dist/src
# The chart runs the container as this uid/gid with a read-only root filesystem.
USER 65532:65532
# xDS over TLS (gRPC), metrics/debug/health (HTTP), webhook (HTTPS). Plaintext 15010 is for tests only.
EXPOSE 15012 15014 15017
# V8 flags: src/cli/node-flags.ts says why (and a test keeps the two the same).
ENTRYPOINT ["node", "--max-semi-space-size=8", "/app/dist/src/cli/main.js"]
CMD ["controller"]
