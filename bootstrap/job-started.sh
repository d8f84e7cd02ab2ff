#!/usr/bin/env bash
# runner-scaler job-started hook: runner-bootstrap.sh points ACTIONS_RUNNER_HOOK_JOB_STARTED here, so the
# runner runs it as the runner user when a job begins, before the job's steps.
#
# It only leaves a marker: the file RUNNER_SCALER_JOB_STARTED_FILE, holding the UTC time with milliseconds.
# The root side of the bootstrap sees it, tags the instance runner-scaler:job-started (the scaler checks that
# tag right before it unregisters a runner GitHub reports idle) and stops its no-job watchdog. The hook needs
# no AWS access: jobs never get the instance role. It never fails the job: it always exits 0.
set -euo pipefail

marker=${RUNNER_SCALER_JOB_STARTED_FILE:-}
if [[ -z $marker ]]; then
  printf 'runner-scaler job-started hook: warning: RUNNER_SCALER_JOB_STARTED_FILE is not set\n' >&2
  exit 0
fi
if ! date -u +%Y-%m-%dT%H:%M:%S.%3NZ >"$marker"; then
  printf 'runner-scaler job-started hook: warning: could not write %s\n' "$marker" >&2
fi
exit 0
