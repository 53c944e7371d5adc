#!/usr/bin/env bash
# Set up the virtual environment (once) and start the dashboard.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/venv.sh
venv_install requirements.txt
exec .venv/bin/python -m streamlit run dashboard.py "$@"
