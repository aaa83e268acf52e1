# shellcheck shell=bash
# Sourced by scripts/compose-test.sh: runs docker-compose.yml with podman-compose from a
# project folder holding a copy of it, a .env made from .env.example with fresh secrets,
# and providers.yaml from providers.example.yaml; then checks the running deployment.

PROJECT_NAME="compose-test-$$"

# .env.example with every secret replaced by a fresh random value (hex, as the README
# makes them; the encryption key base64), PUBLIC_URL pointing at the published port.
write_project() {
  PROJECT="$WORK/project"
  mkdir -p "$PROJECT"
  BROKER_PORT="$(node -e "const s = require('net').createServer().listen(0, '127.0.0.1', () => { console.log(s.address().port); s.close() })")"
  local line key value
  : > "$WORK/secrets.txt"
  while IFS= read -r line || [ -n "$line" ]; do
    if [[ ! "$line" =~ ^([A-Z_][A-Z0-9_]*)=(.*)$ ]]; then printf '%s\n' "$line"; continue; fi
    key="${BASH_REMATCH[1]}" value="${BASH_REMATCH[2]}"
    case "$key" in
      ENCRYPTION_KEY) value="$(head -c 32 /dev/urandom | base64)" ;;
      *PASSWORD* | *SECRET*) value="$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')" ;;
      *_CLIENT_ID) [ "$key" = BOOTSTRAP_CLIENT_ID ] || value="compose-test-$key" ;;
      PUBLIC_URL) value="http://127.0.0.1:$BROKER_PORT" ;;
    esac
    case "$key" in ENCRYPTION_KEY | *PASSWORD* | *SECRET*) printf '%s\n' "$value" >> "$WORK/secrets.txt" ;; esac
    printf '%s=%s\n' "$key" "$value"
  done < "$ROOT/.env.example" > "$PROJECT/.env"
  # The published port: the compose file's default (3000) may be taken on this machine.
  printf 'BROKER_PORT=%s\n' "$BROKER_PORT" >> "$PROJECT/.env"
  cp "$ROOT/docker-compose.yml" "$PROJECT/docker-compose.yml"
  cp "$ROOT/providers.example.yaml" "$PROJECT/providers.yaml"
  chmod 644 "$PROJECT/providers.yaml"
  IMPORTED_ACCESS_TOKEN="imported-access-$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')"
  IMPORTED_REFRESH_TOKEN="imported-refresh-$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')"
  printf '%s\n%s\n' "$IMPORTED_ACCESS_TOKEN" "$IMPORTED_REFRESH_TOKEN" >> "$WORK/secrets.txt"
  # An empty line would match every file in the layer scan.
  if grep -qx '' "$WORK/secrets.txt"; then fail "an empty secret in .env.example's replacements"; fi
}

compose() {
  bounded "${COMPOSE_STEP_TIMEOUT:-180}" env -C "$PROJECT" podman-compose -p "$PROJECT_NAME" -f docker-compose.yml "$@"
}

container() { echo "${PROJECT_NAME}_$1_1"; }

# podman 4.3 warns on stderr about tmpfs mounts at each inspect: kept for a failure's report.
pm() { podman "$@" 2>> "$WORK/podman.log"; }

# podman-compose 1.0.3 ignores `condition: service_healthy` and podman's healthcheck
# timers need systemd: wait here by running each container's own healthcheck command.
wait_healthy() {
  local name="$1" limit="$2" t=$SECONDS
  while ! timeout 10 podman healthcheck run "$name" > /dev/null 2>&1; do
    [ $((SECONDS - t)) -lt "$limit" ] || fail "$name not healthy within $limit s"
    [ "$(pm inspect -f '{{.State.Status}}' "$name")" != exited ] || fail "$name exited"
    sleep 0.5
  done
}

# Like `docker compose up -d`: create everything (`--no-start` without `-d`: podman-compose
# 1.0.3 would pass `-d` on to `podman create`), start PostgreSQL, wait until it is
# healthy, then start the broker (depends_on: service_healthy) and wait for its health.
stack_up() {
  step "podman-compose up (project $PROJECT_NAME, broker on 127.0.0.1:$BROKER_PORT)"
  compose up --no-start > "$WORK/compose-up.log" 2>&1 || { cat "$WORK/compose-up.log"; fail "podman-compose up failed"; }
  local t=$SECONDS
  # podman start complains on stderr that it cannot use systemd timers for healthchecks.
  bounded 60 podman start "$(container postgres)" > /dev/null 2>> "$WORK/podman.log" || fail "podman start failed"
  wait_healthy "$(container postgres)" 120
  figure "postgres healthy after" "$((SECONDS - t)) s"
  t=$SECONDS
  bounded 60 podman start "$(container broker)" > /dev/null 2>> "$WORK/podman.log" || fail "podman start failed"
  wait_healthy "$(container broker)" 120
  figure "broker healthy after" "$((SECONDS - t)) s"
}

stack_down() {
  [ -n "${PROJECT:-}" ] && [ -d "$PROJECT" ] || return 0
  COMPOSE_STEP_TIMEOUT=120 compose down -v > /dev/null 2>&1
}

show_logs() {
  local c
  [ -s "$WORK/podman.log" ] && { echo "--- podman"; tail -20 "$WORK/podman.log"; }
  for c in postgres broker; do
    podman container exists "$(container $c)" 2> /dev/null || continue
    echo "--- logs of $(container $c)"
    timeout 20 podman logs --tail 40 "$(container $c)" 2>&1 || true
  done
}

check_api() {
  step "API checks ($1)"
  BOOTSTRAP_CLIENT_ID="$(sed -n 's/^BOOTSTRAP_CLIENT_ID=//p' "$PROJECT/.env")" \
    BOOTSTRAP_CLIENT_SECRET="$(sed -n 's/^BOOTSTRAP_CLIENT_SECRET=//p' "$PROJECT/.env")" \
    IMPORTED_ACCESS_TOKEN="$IMPORTED_ACCESS_TOKEN" IMPORTED_REFRESH_TOKEN="$IMPORTED_REFRESH_TOKEN" \
    bounded 60 node "$HERE/checks.mjs" "$1" "http://127.0.0.1:$BROKER_PORT" "$WORK/state.json"
}

# The ops command line inside the running image: `npx oauth-broker` as the docs show it,
# and a read-only command against the stack's database (the imported connection is listed,
# without its tokens).
check_cli() {
  step "the ops command line in the broker container"
  local broker version listed
  broker="$(container broker)"
  version="$(bounded 60 podman exec "$broker" npx --offline oauth-broker --version 2>> "$WORK/podman.log")" ||
    fail "npx oauth-broker --version failed in the container"
  [[ "$version" == "oauth-broker "* ]] || fail "npx oauth-broker --version printed: $version"
  listed="$(bounded 60 podman exec "$broker" oauth-broker connections list --json 2>> "$WORK/podman.log")" ||
    fail "oauth-broker connections list failed in the container"
  grep -q '"id": "conn_' <<< "$listed" || fail "oauth-broker connections list shows no connection"
  ! grep -q "$IMPORTED_ACCESS_TOKEN" <<< "$listed" || fail "oauth-broker connections list printed a token"
  figure "ops CLI in the container" "$version; connections list works"
}

restart_broker() {
  step "restart the broker container"
  local t=$SECONDS
  bounded 60 podman restart "$(container broker)" > /dev/null 2>> "$WORK/podman.log" || fail "podman restart failed"
  wait_healthy "$(container broker)" 120
  figure "broker healthy again after" "$((SECONDS - t)) s"
}

# The broker runs as a non-root user, on a read-only root filesystem, with no capability
# and no way to gain privileges; PostgreSQL is read-only too and not published.
check_hardening() {
  step "hardening of the running containers"
  local broker uid status
  broker="$(container broker)"
  uid="$(pm exec "$broker" id -u)"
  [ "$uid" != 0 ] || fail "the broker runs as root"
  [ "$(pm inspect -f '{{.HostConfig.ReadonlyRootfs}}' "$broker")" = true ] || fail "the root filesystem is writable"
  if pm exec "$broker" sh -c 'touch /app/written || touch /written' 2> /dev/null; then fail "could write to the root filesystem"; fi
  status="$(pm exec "$broker" cat /proc/1/status)"
  grep -Eq '^NoNewPrivs:\s+1$' <<< "$status" || fail "no-new-privileges is not set"
  grep -Eq '^CapEff:\s+0+$' <<< "$status" || fail "the broker has effective capabilities"
  grep -Eq '^CapBnd:\s+0+$' <<< "$status" || fail "the broker's bounding capability set is not empty"
  [ -z "$(pm port "$(container postgres)")" ] || fail "PostgreSQL is published on the host"
  [ "$(pm inspect -f '{{.HostConfig.ReadonlyRootfs}}' "$(container postgres)")" = true ] || fail "PostgreSQL's root filesystem is writable"
  [ "$(pm inspect -f '{{.HostConfig.RestartPolicy.Name}}' "$broker")" = unless-stopped ] || fail "no restart policy"
  figure "broker user" "uid $uid, read-only root, no capabilities, no-new-privileges"
}
