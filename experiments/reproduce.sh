#!/usr/bin/env bash
# Main job: set up the environment, then reproduce every claim of THEORY.md.
# Usage: bash experiments/reproduce.sh [--full] [--out DIR]   (default: quick mode, results/quick)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup_env.sh"
MODE="--quick"; OUT=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --full) MODE=""; shift ;;
    --out) OUT="$2"; shift 2 ;;
    *) echo "unknown option $1 (use --full, --out DIR)" >&2; exit 2 ;;
  esac
done
OUT="${OUT:-results/$([[ -n "$MODE" ]] && echo quick || echo full)}"
simident reproduce $MODE --out "$OUT" --overwrite
echo "report: $OUT/report.md"
