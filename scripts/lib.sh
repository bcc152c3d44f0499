# Shell helpers shared by infra/local/stack.sh and the install scripts in scripts/ (sourced, not run).
export LC_NUMERIC=C # "%.1f" and $EPOCHREALTIME agree on the decimal point
now() { printf '%s' "$EPOCHREALTIME"; }
# Seconds since a now() reading, e.g. "2.4s".
since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1fs", b - a }'; }
as_root() { if [[ $EUID -eq 0 ]]; then "$@"; else sudo "$@"; fi; }
