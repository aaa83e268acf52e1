#!/usr/bin/env bash
# The container test (`npm run test:compose`, run by .ci/run): builds the base images
# locally (Debian trixie via debootstrap, Node from the npm registry, PostgreSQL from
# Debian), builds the broker image from the Dockerfile, runs docker-compose.yml with
# podman-compose, and checks the deployment: readiness, a broker token, a connection
# imported and its token vended, a broker restart that keeps everything, a non-root
# read-only hardened container, and no secret in the image layers.
# Needs root (podman as root with runc) and installs its tools with apt when missing.
# Everything lives in a private image store under a temporary folder, removed on exit.
# COMPOSE_TEST_STORE=<dir> keeps that store (and its base images) between runs instead.
set -euo pipefail

# One deadline over the whole run; each step has its own timeout too.
if [ -z "${COMPOSE_TEST_UNDER_TIMEOUT:-}" ]; then
  export COMPOSE_TEST_UNDER_TIMEOUT=1
  exec timeout -k 30 "${COMPOSE_TEST_TIMEOUT:-900}" bash "$0" "$@"
fi

HERE="$(cd "$(dirname "$0")/compose-test" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
START=$SECONDS
STEP_START=$SECONDS
FIGURES=()

step() { STEP_START=$SECONDS; echo "compose-test: $*"; }
# A step under its own timeout, waited for so that the run's deadline (SIGTERM) interrupts
# it: bash runs a trap only after a foreground command ends, but at once during `wait`.
# (timeout puts the step in its own process group, out of reach of the deadline's signal.)
bounded() {
  timeout "$@" &
  STEP_PID=$!
  local status=0
  wait "$STEP_PID" || status=$?
  STEP_PID=""
  return "$status"
}
figure() { FIGURES+=("$(printf '%-28s %s' "$1:" "$2")"); echo "  $1: $2"; }
fail() { echo "compose-test: FAILED: $*" >&2; exit 1; }
# shellcheck source-path=SCRIPTDIR/compose-test
. "$HERE/images.sh"
# shellcheck source-path=SCRIPTDIR/compose-test
. "$HERE/stack.sh"

install_tools() {
  local missing=()
  command -v podman > /dev/null || missing+=(podman)
  command -v runc > /dev/null || missing+=(runc)
  command -v debootstrap > /dev/null || missing+=(debootstrap)
  command -v podman-compose > /dev/null || missing+=(podman-compose)
  command -v iptables > /dev/null || missing+=(iptables)
  [ -x /usr/lib/podman/netavark ] || command -v netavark > /dev/null || missing+=(netavark)
  [ -x /usr/lib/podman/aardvark-dns ] || command -v aardvark-dns > /dev/null || missing+=(aardvark-dns)
  [ ${#missing[@]} -eq 0 ] && return
  step "installing ${missing[*]}"
  bounded 300 apt-get update -qq
  bounded 600 env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" > /dev/null
}

# podman's configuration for this run only (the machine's files are left alone): runc
# (crun fails on hybrid cgroups), no default ulimits, and a private image store, network
# configuration and state folder, so that nothing the machine has is seen or touched.
configure_podman() {
  local store="${COMPOSE_TEST_STORE:-$WORK/store}"
  # podman's database remembers its state folders: a kept store keeps them beside it.
  local state="${COMPOSE_TEST_STORE:-$WORK}"
  mkdir -p "$store" "$state/run" "$state/libpod" "$WORK/networks"
  cat > "$WORK/containers.conf" << EOF
[containers]
default_ulimits = []
[engine]
runtime = "runc"
tmp_dir = "$state/libpod"
[network]
network_backend = "netavark"
network_config_dir = "$WORK/networks"
EOF
  cat > "$WORK/storage.conf" << EOF
[storage]
driver = "overlay"
graphroot = "$store/graph"
runroot = "$state/run"
EOF
  # TMPDIR: where buildah keeps the Dockerfile's cache mounts (the npm cache).
  mkdir -p "$state/tmp"
  export CONTAINERS_CONF="$WORK/containers.conf" CONTAINERS_STORAGE_CONF="$WORK/storage.conf" TMPDIR="$state/tmp"
  [ "$(podman info --format '{{.Store.GraphRoot}}')" = "$store/graph" ] || fail "podman does not use the private store"
}

# netavark leaves an empty NAT chain per network it removed: delete the ones this run made.
nat_chains() { iptables -t nat -S 2> /dev/null | awk '/^-N NETAVARK-DN-/ { print $2 }' | sort; }
remove_new_nat_chains() {
  [ -f "$WORK/nat-chains" ] || return 0
  local chain
  for chain in $(nat_chains | comm -13 "$WORK/nat-chains" -); do iptables -t nat -X "$chain" 2> /dev/null || true; done
}

cleanup() {
  local status=$?
  trap - EXIT INT TERM
  # The deadline may strike inside a redirected step: report to the run's own output.
  exec 1>&3 2>&4
  # The step the deadline interrupted: timeout passes the signal on to its command.
  if [ -n "${STEP_PID:-}" ]; then kill -TERM "$STEP_PID" 2> /dev/null || true; wait "$STEP_PID" 2> /dev/null || true; fi
  # The background image build, if still running: its child (timeout, which ends podman) first.
  if [ -n "${PG_BUILD_PID:-}" ]; then
    local children
    read -r -a children < <(cat /proc/"$PG_BUILD_PID"/task/*/children 2> /dev/null; echo)
    kill "${children[@]}" "$PG_BUILD_PID" 2> /dev/null || true
    wait "$PG_BUILD_PID" 2> /dev/null || true
  fi
  if [ -n "${CONTAINERS_STORAGE_CONF:-}" ]; then
    if [ "$status" != 0 ] && [ -n "${PROJECT_NAME:-}" ]; then show_logs || true; fi
    echo "compose-test: cleaning up"
    stack_down || true
    timeout 120 podman rm -af -t 0 > /dev/null 2>&1 || true
    timeout 60 podman pod rm -af > /dev/null 2>&1 || true
    timeout 60 podman volume rm -af > /dev/null 2>&1 || true
    timeout 60 podman network prune -f > /dev/null 2>&1 || true
    remove_new_nat_chains
    if [ -n "${COMPOSE_TEST_STORE:-}" ]; then
      timeout 60 podman rmi -f "$BROKER_IMAGE" > /dev/null 2>&1 || true
    else
      timeout 120 podman rmi -af > /dev/null 2>&1 || true
    fi
  fi
  if [ -n "${WORK:-}" ] && [ -d "$WORK" ]; then
    findmnt -rn -o TARGET | grep -F "$WORK/" | sort -r | xargs -r umount -l 2> /dev/null || true
    rm -rf "$WORK"
  fi
  echo "compose-test: $([ "$status" = 0 ] && echo passed || echo FAILED) in $((SECONDS - START)) s"
  exit "$status"
}

# Reads the image names the Dockerfile and the compose file use, with the versions in them.
read_image_names() {
  eval "$(cd "$ROOT" && node --input-type=module -e "
    import { readFileSync } from 'node:fs'
    import { parse } from 'yaml'
    const dockerfile = readFileSync('Dockerfile', 'utf8')
    const arg = (name) => new RegExp('^ARG ' + name + '=(.+)$', 'm').exec(dockerfile)?.[1] ?? ''
    const node = arg('NODE_IMAGE').replace('\${NODE_VERSION}', arg('NODE_VERSION'))
    const services = parse(readFileSync('docker-compose.yml', 'utf8')).services
    // What a short name means to docker and podman alike: docker.io/library/<name>.
    const full = (n) => (/^[^/]+[.:][^/]*\//.test(n) ? n : 'docker.io/' + (n.includes('/') ? n : 'library/' + n))
    const q = (s) => \"'\" + String(s).replace(/'/g, '') + \"'\"
    console.log('NODE_IMAGE=' + q(full(node)))
    console.log('NODE_MAJOR=' + q(/:(\\d+)/.exec(node)?.[1] ?? ''))
    console.log('POSTGRES_IMAGE=' + q(full(services.postgres.image)))
    console.log('POSTGRES_MAJOR=' + q(/:(\\d+)/.exec(services.postgres.image)?.[1] ?? ''))
    console.log('BROKER_IMAGE=' + q(services.broker.image))
  ")"
  if [ -z "$NODE_MAJOR" ] || [ -z "$POSTGRES_MAJOR" ] || [ -z "$BROKER_IMAGE" ]; then fail "cannot read the image names"; fi
  echo "compose-test: images $NODE_IMAGE, $POSTGRES_IMAGE, $BROKER_IMAGE"
}

build_images() {
  local t
  BASE_IMAGE="localhost/compose-test-debian:trixie"
  if ! podman image exists "$BASE_IMAGE"; then build_debian_base; figure "debian base built" "$((SECONDS - STEP_START)) s"; fi
  # PostgreSQL's image (mostly downloads) builds alongside the Node and broker images.
  if ! podman image exists "$POSTGRES_IMAGE"; then
    echo "compose-test: postgres image $POSTGRES_IMAGE (Debian postgresql-$POSTGRES_MAJOR), in the background"
    (t=$SECONDS && build_postgres_image "$POSTGRES_IMAGE" "$POSTGRES_MAJOR" && echo $((SECONDS - t)) > "$WORK/postgres.secs") \
      > "$WORK/postgres-build.log" 2>&1 &
    PG_BUILD_PID=$!
  fi
  if ! podman image exists "$NODE_IMAGE"; then build_node_image "$NODE_IMAGE" "$NODE_MAJOR"; figure "node image built" "$((SECONDS - STEP_START)) s"; fi
  prepare_context "$WORK/context"
  step "broker image $BROKER_IMAGE from the Dockerfile"
  t=$SECONDS
  local ca=()
  # The machine's extra CAs (a TLS-intercepting proxy), mounted for the build's npm only.
  if [ -n "${NODE_EXTRA_CA_CERTS:-}" ] && [ -f "$NODE_EXTRA_CA_CERTS" ]; then
    ca=(-v "$(dirname "$NODE_EXTRA_CA_CERTS"):/mnt:ro" --build-arg "NODE_EXTRA_CA_CERTS=/mnt/$(basename "$NODE_EXTRA_CA_CERTS")")
  fi
  bounded 900 podman build -q --pull=never "${ca[@]}" -t "$BROKER_IMAGE" "$WORK/context" > "$WORK/build.log" 2>&1 ||
    { tail -40 "$WORK/build.log"; fail "the broker image does not build"; }
  rm -rf "$WORK/context"
  figure "broker image built" "$((SECONDS - t)) s"
  if [ -n "${PG_BUILD_PID:-}" ]; then
    wait "$PG_BUILD_PID" || { cat "$WORK/postgres-build.log"; fail "the postgres image does not build"; }
    PG_BUILD_PID=""
    figure "postgres image built" "$(cat "$WORK/postgres.secs") s (alongside)"
  fi
  figure "broker image size" "$(podman image inspect -f '{{.Size}}' "$BROKER_IMAGE" | awk '{printf "%d MB", $1 / 1e6}')"
}

main() {
  [ "$(id -u)" = 0 ] || fail "run as root (podman runs the containers as root here)"
  install_tools
  WORK="$(mktemp -d /var/tmp/compose-test.XXXXXX)"
  exec 3>&1 4>&2
  trap cleanup EXIT
  trap 'echo "compose-test: stopped by a signal (the deadline is ${COMPOSE_TEST_TIMEOUT:-900} s)" >&4; exit 143' INT TERM
  configure_podman
  read_image_names
  write_project
  nat_chains > "$WORK/nat-chains"
  build_images
  scan_layers "$BROKER_IMAGE"
  stack_up
  check_hardening
  check_api first
  check_cli
  restart_broker
  check_api again
  echo "compose-test: figures"
  printf '  %s\n' "${FIGURES[@]}"
}

main "$@"
