#!/usr/bin/env bash
# Plans the policies of this checkout for every host of the inventory against the target branch, as a
# pull-request comment in $BPFGIT_PLAN (default bpfgit-plan.md), and the exit code in $BPFGIT_PLAN.rc.
# Never fails itself, so that the comment is posted even when the plan is invalid: check.sh fails the job.
#   BASE             the target branch (GitHub: GITHUB_BASE_REF; GitLab: CI_MERGE_REQUEST_TARGET_BRANCH_NAME)
#   BPFGIT_HOSTS     the inventory (default: hosts.yaml)
#   BPFGIT_POLICIES  the policy directory (default: policies)
set -uo pipefail
bpfgit=${BPFGIT:-$(command -v bpfgit || echo /opt/bpfgit/bin/bpfgit)}
base=${BASE:-${GITHUB_BASE_REF:-${CI_MERGE_REQUEST_TARGET_BRANCH_NAME:-main}}}
out=${BPFGIT_PLAN:-bpfgit-plan.md}
git fetch --quiet origin "$base" || echo "plan.sh: git fetch origin $base failed; planning against the local origin/$base" >&2
"$bpfgit" plan "${BPFGIT_POLICIES:-policies}" --against "origin/$base" --hosts "${BPFGIT_HOSTS:-hosts.yaml}" \
  -o markdown > "$out" 2> "$out.err"
rc=$?
echo "$rc" > "$out.rc"
cat "$out.err" >&2
if [ "$rc" -ge 2 ]; then
  # invalid input (2) or an error (3): stdout may be empty, the reasons are on stderr
  {
    echo "### bpfgit plan failed (exit $rc)"
    echo
    if [ -s "$out" ]; then cat "$out"; echo; fi
    echo '```'
    head -c 60000 "$out.err"
    echo '```'
  } > "$out.tmp"
  mv "$out.tmp" "$out"
fi
cat "$out"
exit 0
