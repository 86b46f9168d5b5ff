#!/usr/bin/env bash
# Posts the plan as ONE comment on the pull request, or updates the comment this script posted before
# (found by its marker), through the GitHub REST API.
#   GITHUB_TOKEN       a token that may write pull requests (the workflow's own, with pull-requests: write)
#   GITHUB_REPOSITORY  owner/name; GITHUB_API_URL (default https://api.github.com); PR_NUMBER
#   BPFGIT_MARKER      (default <!-- bpfgit-plan -->): a different one per workflow keeps their comments apart
set -euo pipefail
: "${GITHUB_TOKEN:?}" "${GITHUB_REPOSITORY:?}" "${PR_NUMBER:?}"
api=${GITHUB_API_URL:-https://api.github.com}
marker=${BPFGIT_MARKER:-<!-- bpfgit-plan -->}
plan=${BPFGIT_PLAN:-bpfgit-plan.md}
gh_api() {
  curl -fsS --retry 3 -H "Authorization: Bearer $GITHUB_TOKEN" -H "Accept: application/vnd.github+json" \
    -H "Content-Type: application/json" \
    -H "X-GitHub-Api-Version: 2022-11-28" "$@"
}
body=$(mktemp)
trap 'rm -f "$body"' EXIT
{ printf '%s\n' "$marker"; cat "$plan"; } | jq -Rs '{body: .}' > "$body"
id=""
page=1
while [ -z "$id" ]; do
  comments=$(gh_api "$api/repos/$GITHUB_REPOSITORY/issues/$PR_NUMBER/comments?per_page=100&page=$page")
  [ "$(jq length <<< "$comments")" -gt 0 ] || break
  id=$(jq -r --arg m "$marker" '[.[] | select(.body | startswith($m))][0].id // empty' <<< "$comments")
  page=$((page + 1))
done
if [ -n "$id" ]; then
  gh_api -X PATCH "$api/repos/$GITHUB_REPOSITORY/issues/comments/$id" --data-binary @"$body" > /dev/null
  echo "updated comment $id"
else
  id=$(gh_api -X POST "$api/repos/$GITHUB_REPOSITORY/issues/$PR_NUMBER/comments" --data-binary @"$body" | jq -r .id)
  echo "posted comment $id"
fi
