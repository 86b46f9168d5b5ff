#!/usr/bin/env bash
# Posts the plan as ONE note on the merge request, or updates the note this script posted before (found by
# its marker), through the GitLab notes API.
#   GITLAB_TOKEN          a project or personal access token with the api scope (CI_JOB_TOKEN cannot write notes)
#   CI_API_V4_URL, CI_PROJECT_ID, CI_MERGE_REQUEST_IID: set by GitLab CI in merge request pipelines
#   BPFGIT_MARKER         (default <!-- bpfgit-plan -->)
set -euo pipefail
: "${GITLAB_TOKEN:?}" "${CI_API_V4_URL:?}" "${CI_PROJECT_ID:?}" "${CI_MERGE_REQUEST_IID:?}"
marker=${BPFGIT_MARKER:-<!-- bpfgit-plan -->}
plan=${BPFGIT_PLAN:-bpfgit-plan.md}
notes="$CI_API_V4_URL/projects/$CI_PROJECT_ID/merge_requests/$CI_MERGE_REQUEST_IID/notes"
gl_api() {
  curl -fsS --retry 3 -H "PRIVATE-TOKEN: $GITLAB_TOKEN" -H "Content-Type: application/json" "$@"
}
body=$(mktemp)
trap 'rm -f "$body"' EXIT
{ printf '%s\n' "$marker"; cat "$plan"; } | jq -Rs '{body: .}' > "$body"
id=""
page=1
while [ -z "$id" ]; do
  page_notes=$(gl_api "$notes?per_page=100&page=$page&sort=asc")
  [ "$(jq length <<< "$page_notes")" -gt 0 ] || break
  id=$(jq -r --arg m "$marker" '[.[] | select(.body | startswith($m))][0].id // empty' <<< "$page_notes")
  page=$((page + 1))
done
if [ -n "$id" ]; then
  gl_api -X PUT "$notes/$id" --data-binary @"$body" > /dev/null
  echo "updated note $id"
else
  id=$(gl_api -X POST "$notes" --data-binary @"$body" | jq -r .id)
  echo "posted note $id"
fi
