#!/usr/bin/env bash
# Test command: set up the environment, lint, run the test suite.
# CI=true selects the bounded hypothesis profile; HYPOTHESIS_PROFILE=thorough runs thousands.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../experiments/setup_env.sh"
ruff check simident tests benchmarks
python -m pytest -q -p no:cacheprovider -n "${PYTEST_WORKERS:-auto}" --durations=10 "$@"
