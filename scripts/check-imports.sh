#!/usr/bin/env bash
# The direction of imports: api/ never imports internal/; the scheduler is
# pure (no store, no network); the CLI reaches the server only through
# api/client (server, agent and up are the commands that run components).
set -euo pipefail
cd "$(dirname "$0")/.."
fail=0
deps() { go list -f '{{join .Imports "\n"}}' "$1"; }
if deps ./api/... | grep -q 'wharfhq/wharf/internal'; then
  echo "api/ must not import internal/"; fail=1
fi
if deps ./internal/scheduler | grep -Eq 'wharfhq/wharf/internal/(store|gateway|apiserver)|net/http'; then
  echo "internal/scheduler must stay pure"; fail=1
fi
if deps ./internal/agent | grep -q 'wharfhq/wharf/internal/store'; then
  echo "the agent must never read the store"; fail=1
fi
exit $fail
