#!/usr/bin/env bash
# Creates .loopline/venv-NAME with the pinned packages of a requirements file, from PyPI with pip.
# Does nothing when the venv already holds exactly that file's packages; a changed file rebuilds it.
#   scripts/python-env.sh NAME REQUIREMENTS
# Used by `make test` (the external trainer example) and `make bench` (the Evidently and
# scikit-learn baselines).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh # now, since
[[ $# -eq 2 ]] || { echo "usage: $0 NAME REQUIREMENTS" >&2; exit 2; }
name=$1 requirements=$2
[[ -f $requirements ]] || { echo "python-env: no file $requirements" >&2; exit 2; }
venv=.loopline/venv-$name
stamp=$venv/.installed-requirements
if [[ -f $stamp ]] && cmp -s "$stamp" "$requirements"; then exit 0; fi

started=$(now)
echo "installing $requirements into $venv from PyPI (first run only)..."
rm -rf "$venv"
mkdir -p .loopline
if ! python3 -m venv "$venv" ||
  ! "$venv/bin/pip" install --quiet --disable-pip-version-check --no-input -r "$requirements"; then
  rm -rf "$venv" # half a venv would make the tests that use it fail instead of this script
  echo "python-env: could not install $requirements into $venv (needs python3-venv and PyPI)" >&2
  exit 1
fi
cp "$requirements" "$stamp"
echo "installed in $(since "$started")"
