#!/usr/bin/env bash
# Set up and run CXR Draft Auditor.
#   ./run.sh          install (once), seed a demo worklist if the database is empty, launch the app
#                     on 127.0.0.1 only (flags such as --server.port 8502 are passed to streamlit)
#   ./run.sh --share  the same, listening on the network: needs shared mode (sign-in, roles, an
#                     audit trail) and an educator account (cxr-audit users add NAME --role educator)
#   ./run.sh test     install (once) and run the whole test suite
#   ./run.sh lint     ruff check + format check, mypy on audit/
#   ./run.sh bench    run the benchmarks in bench/
set -euo pipefail
cd "$(dirname "$0")"

VENV=.venv
PY=${PYTHON:-}
if [ -z "$PY" ]; then
  for candidate in python3.12 python3.11 python3; do
    if command -v "$candidate" >/dev/null 2>&1 && "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
      PY=$candidate
      break
    fi
  done
fi
[ -n "$PY" ] || { echo "run.sh: Python 3.11 or newer is needed" >&2; exit 1; }

# Reinstall only when a requirements file (runtime, training, dev) or pyproject.toml changed since
# the last install.
install() {
  local want stamp=$VENV/.installed
  want=$(cat requirements.txt requirements-train.txt requirements-dev.txt pyproject.toml | sha256sum | cut -d' ' -f1)
  if [ ! -x "$VENV/bin/python" ]; then
    "$PY" -m venv "$VENV"
  fi
  if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    echo "run.sh: installing dependencies into $VENV (first run takes a few minutes)"
    "$VENV/bin/python" -m pip install -q --upgrade pip
    "$VENV/bin/python" -m pip install -q -r requirements.txt -r requirements-train.txt -r requirements-dev.txt
    "$VENV/bin/python" -m pip install -q --no-deps -e .
    echo "$want" >"$stamp"
  fi
}

install
export PATH="$PWD/$VENV/bin:$PATH"

# Arguments that start with "--" (e.g. --server.port 8502) go to the app.
command=app
if [ $# -gt 0 ] && [ "${1#--}" = "$1" ]; then
  command=$1
  shift
fi

case "$command" in
  test)
    ruff check .
    ruff format --check .
    exec python -m pytest "$@"
    ;;
  lint)
    ruff check .
    ruff format --check .
    mypy
    ;;
  bench)
    exec python -m bench "$@"
    ;;
  app)
    cxr-audit demo --if-empty
    exec python -m workstation.launch "$@"
    ;;
  *)
    echo "usage: ./run.sh [app|test|lint|bench] [ARGS...]   (./run.sh --share listens on the network; ./run.sh --server.port 8502 passes flags to the app)" >&2
    exit 2
    ;;
esac
