#!/usr/bin/env bash
# End-to-end test against a real n8n 2.41.1: see tests/e2e/README.md. N8N_E2E_SKIP=1 skips it (and says so).
set -euo pipefail
exec python3 "$(dirname "$0")/run.py" "$@"
