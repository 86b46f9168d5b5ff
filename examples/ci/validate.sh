#!/usr/bin/env bash
# Validates the policies; with -o github every error becomes an annotation on its file and line.
#   BPFGIT           the command (default: bpfgit on PATH, else /opt/bpfgit/bin/bpfgit)
#   BPFGIT_POLICIES  the policy directory (default: policies)
#   BPFGIT_FORMAT    github (default) or text (GitLab shows the job log)
set -uo pipefail
bpfgit=${BPFGIT:-$(command -v bpfgit || echo /opt/bpfgit/bin/bpfgit)}
"$bpfgit" validate -o "${BPFGIT_FORMAT:-github}" "${BPFGIT_POLICIES:-policies}"
