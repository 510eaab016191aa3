#!/usr/bin/env bash
# The README's test command: sets up what the tests need on a fresh machine, then runs them all.
#   - a virtual environment in .venv with requirements.txt and tests/requirements.txt
#   - Debian's chromium for the real-browser tests (apt-get, when it is missing)
# `--fast` runs the library's unit tests only (no server, browser, fuzzing or several processes: about 2 minutes).
# Extra arguments go to pytest, e.g. `bash tests/run.sh -k pretext`.
set -euo pipefail
cd "$(dirname "$0")/.."

python=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    "$python" -m venv .venv
fi
.venv/bin/python -m pip install -q --disable-pip-version-check -r requirements.txt -r tests/requirements.txt

if [ ! -x "${CHROMIUM:-/usr/bin/chromium}" ]; then
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -q
    $sudo apt-get install -y -q chromium fonts-noto-color-emoji
fi

if [ "${1:-}" = "--fast" ]; then
    shift
    exec .venv/bin/python -m pytest -q -m "not slow" tests "$@"
fi
exec .venv/bin/python -m pytest -q tests "$@"
