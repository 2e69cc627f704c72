#!/usr/bin/env bash
# End-to-end test of n8n queue mode (Redis, Postgres, main, two workers, one runner per worker): see
# tests/e2e/README.md. N8N_E2E_SKIP=1 or N8N_E2E_QUEUE_SKIP=1 skips it (and says so).
set -euo pipefail
exec python3 "$(dirname "$0")/queue_mode.py" "$@"
