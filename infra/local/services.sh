#!/usr/bin/env bash
# Runs Loopline's services locally as background processes (after `make build`), each from its
# compiled entry point services/NAME/dist/main.js, with its log and pid file under
# $LOOPLINE_HOME/services/. Configuration comes from the environment as usual (LOOPLINE_*).
#
#   services.sh up     [name...]   start (idempotent) and wait until each answers /readyz
#   services.sh down   [name...]   SIGTERM (graceful drain), SIGKILL after the grace period
#   services.sh status [name...]   one line per service
#   services.sh logs   [-f] name   its log
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_DIR="$(cd "$SCRIPT_DIR/../.." && pwd)"
# shellcheck source=../../scripts/lib.sh
. "$REPO_DIR/scripts/lib.sh" # alive
env_or() { local v="${!1:-}"; if [[ -n "$v" ]]; then printf '%s' "$v"; else printf '%s' "$2"; fi; }
LOOPLINE_HOME="$(env_or LOOPLINE_HOME "$REPO_DIR/.loopline")"
DIR="$LOOPLINE_HOME/services"
READY_TIMEOUT="$(env_or LOOPLINE_SERVICES_TIMEOUT 90)"
GRACE="$(env_or LOOPLINE_SERVICES_STOP_GRACE 20)"
NODE="$(command -v node)"

# Start order: what others call first. name:admin-port-variable:default-admin-port
ALL=(
  "model-registry:LOOPLINE_REGISTRY_ADMIN_PORT:9404"
  "feature-store:LOOPLINE_FEATURE_STORE_ADMIN_PORT:9402"
  "feature-ingest:LOOPLINE_FEATURE_INGEST_ADMIN_PORT:9401"
  "clickhouse-sink:LOOPLINE_SINK_ADMIN_PORT:9407"
  "inference:LOOPLINE_INFERENCE_ADMIN_PORT:9403"
  "drift-monitor:LOOPLINE_DRIFT_ADMIN_PORT:9405"
  "retrain-trigger:LOOPLINE_RETRAIN_ADMIN_PORT:9406"
)

say() { printf '%s\n' "$*"; }
die() { printf 'services: %s\n' "$*" >&2; exit 1; }
pid_of() { [[ -f "$DIR/$1.pid" ]] && cat "$DIR/$1.pid" || true; }
admin_port() { local spec; spec=$(printf '%s\n' "${ALL[@]}" | grep "^$1:"); env_or "$(cut -d: -f2 <<<"$spec")" "$(cut -d: -f3 <<<"$spec")"; }

selected() {
  if [[ $# -eq 0 ]]; then printf '%s\n' "${ALL[@]}" | cut -d: -f1; return; fi
  for n in "$@"; do printf '%s\n' "${ALL[@]}" | grep -q "^$n:" || die "unknown service '$n' (known: $(printf '%s ' "${ALL[@]}" | sed 's/:[^ ]*//g'))"; echo "$n"; done
}

start_one() {
  local name=$1 entry="$REPO_DIR/services/$1/dist/main.js" pid port started
  pid=$(pid_of "$name")
  if alive "$pid"; then say "$name: already running (pid $pid)"; return 0; fi
  if [[ ! -f $entry ]]; then say "$name: not built yet ($entry missing; run make build), skipped"; return 0; fi
  mkdir -p "$DIR"
  port=$(admin_port "$name")
  : >"$DIR/$name.log"
  # V8 flags a service asks for in its package.json ("nodeFlags"), read and checked by the kit's
  # serviceNodeFlags as the demo and the benchmarks read them.
  local -a flags
  local flag_text
  flag_text=$("$NODE" --input-type=module -e "import { serviceNodeFlags } from '$REPO_DIR/packages/kit/dist/node-flags.js'; console.log(serviceNodeFlags('$REPO_DIR/services/$name').join(' '))") \
    || die "$name: cannot read nodeFlags from services/$name/package.json"
  read -r -a flags <<<"$flag_text"
  (cd "$REPO_DIR" && exec nohup "$NODE" "${flags[@]}" --enable-source-maps "$entry" >>"$DIR/$name.log" 2>&1) &
  echo $! >"$DIR/$name.pid"
  started=$SECONDS
  while (( SECONDS - started < READY_TIMEOUT )); do
    if ! alive "$(pid_of "$name")"; then
      say "$name: exited during start-up; last lines of $DIR/$name.log:"; tail -n 30 "$DIR/$name.log" >&2; return 1
    fi
    if curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1; then say "$name: ready in $(( SECONDS - started ))s (pid $(pid_of "$name"), admin :$port)"; return 0; fi
    sleep 0.5
  done
  say "$name: not ready after ${READY_TIMEOUT}s; see $DIR/$name.log (curl http://127.0.0.1:$port/readyz says: $(curl -s "http://127.0.0.1:$port/readyz" || echo 'no answer'))"
  return 1
}

stop_one() {
  local name=$1 pid
  pid=$(pid_of "$name")
  if ! alive "$pid"; then rm -f "$DIR/$name.pid"; return 0; fi
  kill -TERM "$pid"
  for _ in $(seq 1 $(( GRACE * 10 ))); do alive "$pid" || break; sleep 0.1; done
  if alive "$pid"; then say "$name: still running after ${GRACE}s; killing"; kill -KILL "$pid" || true; fi
  rm -f "$DIR/$name.pid"
  say "$name: stopped"
}

cmd=${1:-status}; shift || true
case $cmd in
  up)
    failed=0
    for n in $(selected "$@"); do start_one "$n" || failed=1; done
    exit $failed ;;
  down)
    names=$(selected "$@" | tac)
    for n in $names; do stop_one "$n"; done ;;
  status)
    for n in $(selected "$@"); do
      pid=$(pid_of "$n"); port=$(admin_port "$n")
      if alive "$pid"; then
        ready=$(curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && echo ready || echo "not ready")
        printf '%-16s running  pid %-7s admin :%s  %s\n' "$n" "$pid" "$port" "$ready"
      else
        printf '%-16s stopped\n' "$n"
      fi
    done ;;
  logs)
    follow=(); if [[ ${1:-} == -f ]]; then follow=(-f); shift; fi
    [[ $# -eq 1 ]] || die "usage: services.sh logs [-f] NAME"
    selected "$1" >/dev/null
    tail -n 100 "${follow[@]}" "$DIR/$1.log" ;;
  *) die "usage: services.sh up|down|status|logs [name...]" ;;
esac
