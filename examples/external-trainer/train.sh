#!/bin/sh
# Runs train.py with the example's virtualenv (.loopline/venv-trainer, see README.md) or
# $LOOPLINE_TRAINER_PYTHON. Loopline calls it as: train.sh <training.csv> <spec.json> <output-dir>
set -eu
here=$(cd "$(dirname "$0")" && pwd)
python=${LOOPLINE_TRAINER_PYTHON:-$here/../../.loopline/venv-trainer/bin/python}
if [ ! -x "$python" ]; then
  echo "no Python at $python: create it with" >&2
  echo "  python3 -m venv .loopline/venv-trainer && .loopline/venv-trainer/bin/pip install -r examples/external-trainer/requirements.txt" >&2
  exit 2
fi
exec "$python" "$here/train.py" "$@"
