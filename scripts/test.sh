#!/usr/bin/env bash
# Set up the virtual environment (once) and run the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/venv.sh
venv_install requirements-dev.txt
.venv/bin/python -m pytest "$@"
