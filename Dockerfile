# imagine-bot as a service. Stages on one base: `build` compiles the TypeScript (and better-sqlite3)
# with every dependency, `deps` installs what production needs (npm ci --omit=dev), and the runtime
# image gets dist/ and those node_modules only: no compiler, no dev dependencies, no sources, a
# non-root user.
#
# The base is Debian 13 (trixie) with Node 22 LTS. Where no registry can be reached,
# scripts/test-container.sh makes an image of this exact name from Debian's packages and npm's
# `node` package, and builds with --pull=never.
FROM docker.io/library/node:22-trixie-slim AS base
WORKDIR /app
ENV npm_config_audit=false \
    npm_config_fund=false \
    npm_config_update_notifier=false

# better-sqlite3 compiles from source when no prebuilt binary can be fetched; Node's own headers
# (shipped with it in /usr/local/include/node) spare node-gyp a download.
FROM base AS toolchain
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
ENV npm_config_nodedir=/usr/local

FROM toolchain AS build
COPY package.json package-lock.json ./
# A TLS-inspecting proxy's CA can be passed as the optional build secret `extra_ca`
# (podman build --secret id=extra_ca,src=ca.pem); nothing of it stays in any layer.
RUN --mount=type=secret,id=extra_ca,required=false \
    if [ -s /run/secrets/extra_ca ]; then export NODE_EXTRA_CA_CERTS=/run/secrets/extra_ca; fi; \
    npm ci
COPY tsconfig.json tsconfig.build.json ./
COPY src src
COPY adapters adapters
COPY simulator simulator
RUN npm run build

FROM base AS deps
COPY package.json package-lock.json ./
# Install scripts are skipped: the only production package that needs one compiles better-sqlite3,
# which the build stage has done already (sharp's binaries come as packages). Compiling it twice
# would cost a minute and leave 28 MB of object files behind.
RUN --mount=type=secret,id=extra_ca,required=false \
    if [ -s /run/secrets/extra_ca ]; then export NODE_EXTRA_CA_CERTS=/run/secrets/extra_ca; fi; \
    npm ci --omit=dev --ignore-scripts
COPY --from=build /app/node_modules/better-sqlite3/build/Release/better_sqlite3.node node_modules/better-sqlite3/build/Release/better_sqlite3.node

FROM base AS runtime
# tini is PID 1: it forwards SIGTERM to Node (which drains jobs before exiting) and reaps children.
RUN apt-get update \
 && apt-get install -y --no-install-recommends tini \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/* \
 && groupadd --system --gid 10001 imagine \
 && useradd --system --uid 10001 --gid imagine --home-dir /app --shell /usr/sbin/nologin imagine \
 && mkdir -p /data \
 && chown imagine:imagine /data
ENV NODE_ENV=production \
    DATABASE_PATH=/data/imagine-bot.db \
    OUTPUT_DIR=/data/output \
    BACKUP_DIR=/data/backups \
    HEALTH_PORT=8080
COPY --from=deps /app/node_modules node_modules
COPY --from=build /app/dist dist
COPY package.json ./
USER imagine
VOLUME /data
# The health server (/healthz, /readyz, /metrics). Slack's HTTP mode also listens on PORT (3000).
EXPOSE 8080
# Node itself asks /readyz: no curl in the image.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD ["node", "-e", "fetch(`http://127.0.0.1:${process.env.HEALTH_PORT}/readyz`, { signal: AbortSignal.timeout(4000) }).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["node", "dist/src/main.js"]
