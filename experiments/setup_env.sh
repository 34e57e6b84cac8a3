# Sourced by experiments/reproduce.sh and tests/run.sh: make ./.venv with simident installed.
# Re-installs only when pyproject.toml changed. Override the interpreter with PYTHON=...
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${SIMIDENT_VENV:-$ROOT/.venv}"
PY="${PYTHON:-python3}"
if [[ ! -x "$VENV/bin/python" ]]; then
  echo "[setup] creating virtual environment $VENV" >&2
  "$PY" -m venv "$VENV"
fi
STAMP="$VENV/.simident-installed"
WANT="$(cat "$ROOT/pyproject.toml" | sha256sum | cut -d' ' -f1)-${SIMIDENT_EXTRAS:-dev}"
if [[ ! -f "$STAMP" || "$(cat "$STAMP")" != "$WANT" ]] || ! "$VENV/bin/python" -c "import simident" 2>/dev/null; then
  echo "[setup] installing simident and its dependencies (a few minutes the first time)" >&2
  "$VENV/bin/python" -m pip install -q --upgrade pip >&2
  "$VENV/bin/python" -m pip install -q -e "$ROOT[${SIMIDENT_EXTRAS:-dev}]" >&2
  echo "$WANT" > "$STAMP"
fi
export PATH="$VENV/bin:$PATH"
cd "$ROOT"
