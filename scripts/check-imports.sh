#!/usr/bin/env bash
# The direction of imports: every rule in scripts/import-rules.txt, checked
# against transitive dependencies by scripts/importcheck (its test breaks
# the rules on purpose and sees them caught).
set -euo pipefail
cd "$(dirname "$0")/.."
exec go run ./scripts/importcheck -rules scripts/import-rules.txt "$@"
