#!/usr/bin/env bash
# runner-scaler job-started hook: runner-bootstrap.sh points ACTIONS_RUNNER_HOOK_JOB_STARTED here, so
# the runner runs it when a job begins, before the job's steps.
#
# It records that this instance is busy, in two places:
#   - the marker file RUNNER_SCALER_JOB_STARTED_FILE (set by the bootstrap), which stops the
#     bootstrap's JOB_WAIT_SECONDS watchdog;
#   - the instance tag runner-scaler:job-started=<UTC ISO-8601 time>, which the scaler checks right
#     before it unregisters a runner GitHub reports idle (that flag can lag a job start).
# A failure is logged in the job's log and never fails the job: the hook always exits 0.
#
# Needs curl and the aws CLI, IMDSv2, and ec2:CreateTags on this instance in the instance role.
# IMDS_ENDPOINT (default http://169.254.169.254) exists for tests.
set -euo pipefail

readonly TAG_JOB_STARTED='runner-scaler:job-started'
export AWS_PAGER=''

log() {
  printf 'runner-scaler job-started hook: %s\n' "$*" >&2
}

mark_job_started() {
  local marker=${RUNNER_SCALER_JOB_STARTED_FILE:-}
  if [[ -n $marker ]]; then
    : >"$marker" || return 1
  fi
}

# Called in an `||` list, where set -e is off: every step checks its own status.
tag_instance() {
  local imds=${IMDS_ENDPOINT:-http://169.254.169.254} token instance_id region started_at errors
  token=$(curl -sS --fail --max-time 2 --retry 2 -X PUT \
    -H 'X-aws-ec2-metadata-token-ttl-seconds: 300' "$imds/latest/api/token") || return 1
  instance_id=$(curl -sS --fail --max-time 2 --retry 2 \
    -H "X-aws-ec2-metadata-token: $token" "$imds/latest/meta-data/instance-id") || return 1
  region=$(curl -sS --fail --max-time 2 --retry 2 \
    -H "X-aws-ec2-metadata-token: $token" "$imds/latest/meta-data/placement/region") || return 1
  started_at=$(date -u +%Y-%m-%dT%H:%M:%SZ) || return 1
  if ! errors=$(aws ec2 create-tags --resources "$instance_id" \
    --tags "Key=$TAG_JOB_STARTED,Value=$started_at" --region "$region" \
    --cli-connect-timeout 5 --cli-read-timeout 10 2>&1); then
    log "warning: could not tag $instance_id: ${errors//$'\n'/ }"
    return 1
  fi
  log "tagged $instance_id $TAG_JOB_STARTED=$started_at"
}

mark_job_started || log "warning: could not write ${RUNNER_SCALER_JOB_STARTED_FILE:-}"
tag_instance || log "warning: the instance is not tagged $TAG_JOB_STARTED; continuing with the job"
exit 0
