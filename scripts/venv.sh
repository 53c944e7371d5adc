# Sourced by dashboard.sh and test.sh: create .venv/ once and install a requirements file into it.
# Usage: venv_install REQUIREMENTS_FILE (from the repository root).
venv_install() {
    local py=${PYTHON:-python3.11}
    command -v "$py" >/dev/null 2>&1 || py=python3
    if [ ! -x .venv/bin/python ]; then
        "$py" -m venv .venv
    fi
    .venv/bin/python -m pip install -q --upgrade pip
    .venv/bin/python -m pip install -q -r "$1"
}
