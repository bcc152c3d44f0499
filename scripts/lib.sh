# Shell helpers shared by infra/local/stack.sh, infra/local/services.sh and the install scripts in
# scripts/ (sourced, not run).
export LC_NUMERIC=C # "%.1f" and $EPOCHREALTIME agree on the decimal point
now() { printf '%s' "$EPOCHREALTIME"; }
# Seconds since a now() reading, e.g. "2.4s".
since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1fs", b - a }'; }
as_root() { if [[ $EUID -eq 0 ]]; then "$@"; else sudo "$@"; fi; }
# Whether pid $1 is a live process. An exited child its parent has not reaped yet (a zombie, state Z)
# is not: where pid 1 reaps orphans lazily (this project's sandbox: 1-2 s), kill -0 alone kept every
# stop waiting that long after the process had exited.
alive() {
  [[ -n "${1:-}" ]] && kill -0 "$1" 2>/dev/null || return 1
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  stat=${stat##*) } # the state follows the command name, which may hold spaces or parentheses
  [[ ${stat:0:1} != Z ]]
}
