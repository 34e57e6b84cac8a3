#!/usr/bin/env bash
# Run one claim's experiment end to end (sets up the environment first).
# Usage: bash experiments/claims/run_claim.sh N [--full] [--out DIR]
#   N = 1..5 (see experiments/claims/README.md); default quick mode, results/claimN
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../setup_env.sh"
[[ $# -ge 1 ]] || { echo "usage: $0 N [--full] [--out DIR]" >&2; exit 2; }
N="$1"; shift
MODE="--quick"; OUT=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --full) MODE=""; shift ;;
    --out) OUT="$2"; shift 2 ;;
    *) echo "unknown option $1 (use --full, --out DIR)" >&2; exit 2 ;;
  esac
done
OUT="${OUT:-results/claim$N}"
simident reproduce $MODE --only "$N" --out "$OUT" --overwrite
echo "report: $OUT/report.md"
