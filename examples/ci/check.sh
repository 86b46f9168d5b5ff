#!/usr/bin/env bash
# Fails the job when the plan was invalid (2) or failed (3); changes pending (1) are what a pull request is for.
set -euo pipefail
rc=$(cat "${BPFGIT_PLAN:-bpfgit-plan.md}.rc")
if [ "$rc" -ge 2 ]; then
  echo "bpfgit plan exited $rc" >&2
  exit "$rc"
fi
