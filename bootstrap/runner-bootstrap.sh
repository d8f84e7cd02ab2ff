#!/usr/bin/env bash
# runner-scaler instance bootstrap: registers one ephemeral GitHub Actions runner on this EC2
# instance, lets it run one job, then shuts the instance down (with the launch template's
# InstanceInitiatedShutdownBehavior=terminate, shutting down terminates the instance).
#
# Use it as the launch template's user data (cloud-init runs it as root), or call it from there:
#
#   #!/bin/bash
#   export RUNNER_DIR=/opt/actions-runner RUNNER_USER=runner
#   exec /opt/runner-scaler/runner-bootstrap.sh
#
# What it does (the resource contract; see bootstrap/README.md):
#   1. IMDSv2: instance id, region and the instance tags runner-scaler:environment and
#      runner-scaler:pool (instance metadata tags must be enabled).
#   2. Polls SSM Parameter Store until one of these exists:
#        /runner-scaler/<env>/<instance-id>  the runner's JIT config: read, deleted, `run.sh --jitconfig`;
#        /runner-scaler/<env>/pools/<pool>   token registration (JSON with token, url, labels,
#                                            runnerGroup): `config.sh --ephemeral ...`, then `run.sh`.
#   3. Runs the runner with ACTIONS_RUNNER_HOOK_JOB_STARTED pointing at job-started.sh, which tags the
#      instance runner-scaler:job-started=<UTC time> when a job begins.
#   4. Shuts the instance down when the runner exits, when no registration arrives within
#      CONFIG_WAIT_SECONDS, when no job starts within JOB_WAIT_SECONDS, on a signal, or on any error.
#
# Settings (environment variables, all optional):
#   RUNNER_DIR           the unpacked actions runner (default /opt/actions-runner)
#   RUNNER_USER          user that runs config.sh/run.sh (needs root; default: the current user, and
#                        when that is root, RUNNER_ALLOW_RUNASROOT=1 is exported for the runner)
#   CONFIG_WAIT_SECONDS  how long to wait for a parameter (default 600)
#   CONFIG_POLL_SECONDS  interval between parameter reads (default 5)
#   JOB_WAIT_SECONDS     stop the runner when no job started within this time (unset or 0, the default:
#                        wait for ever)
#   JOB_STARTED_HOOK     the hook script (default: job-started.sh next to this script when it is there,
#                        else /opt/runner-scaler/job-started.sh)
#   STATE_DIR            where the hook leaves its job-started marker (default /run/runner-scaler)
#   SHUTDOWN_COMMAND     how to end the instance (default "shutdown -h now")
#   IMDS_ENDPOINT        instance metadata base URL, for tests (default http://169.254.169.254)
#
# Secrets (the JIT config, the registration token) stay in variables: they are never logged, and
# this script must never run with `set -x`.
set -euo pipefail

readonly TAG_ENVIRONMENT='runner-scaler:environment'
readonly TAG_POOL='runner-scaler:pool'
# How long a stopped runner gets to exit before it is killed.
readonly RUNNER_STOP_SECONDS=30

RUNNER_DIR="${RUNNER_DIR:-/opt/actions-runner}"
RUNNER_USER="${RUNNER_USER:-}"
CONFIG_WAIT_SECONDS="${CONFIG_WAIT_SECONDS:-600}"
CONFIG_POLL_SECONDS="${CONFIG_POLL_SECONDS:-5}"
JOB_WAIT_SECONDS="${JOB_WAIT_SECONDS:-}"
STATE_DIR="${STATE_DIR:-/run/runner-scaler}"
SHUTDOWN_COMMAND="${SHUTDOWN_COMMAND:-shutdown -h now}"
IMDS_ENDPOINT="${IMDS_ENDPOINT:-http://169.254.169.254}"
export AWS_PAGER=''

runner_pid=''
watchdog_pid=''

log() {
  printf '%s runner-scaler-bootstrap: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*" >&2
}

die() {
  log "error: $*"
  exit 1
}

default_hook() {
  local own_dir
  own_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
  if [[ -f $own_dir/job-started.sh ]]; then
    printf '%s\n' "$own_dir/job-started.sh"
  else
    printf '%s\n' /opt/runner-scaler/job-started.sh
  fi
}

# Stops every process of the runner's session (run.sh, run-helper.sh, Runner.Listener, a job's
# processes): TERM first so the listener can end its session, KILL when it does not exit in time.
stop_runner_group() {
  local group=$1 deadline=$((SECONDS + RUNNER_STOP_SECONDS))
  kill -TERM -- "-$group" 2>/dev/null || return 0
  while kill -0 -- "-$group" 2>/dev/null; do
    if ((SECONDS > deadline)); then
      log "the runner did not stop within ${RUNNER_STOP_SECONDS}s: killing it"
      kill -KILL -- "-$group" 2>/dev/null || true
      return 0
    fi
    sleep 0.2
  done
}

# Runs on every exit, including errors (set -e) and signals: an instance must never sit idle.
# shellcheck disable=SC2317 # invoked by the EXIT trap
on_exit() {
  local status=$?
  set +e
  trap - EXIT TERM INT HUP
  if [[ -n $watchdog_pid ]]; then
    kill "$watchdog_pid" 2>/dev/null
  fi
  if [[ -n $runner_pid ]]; then
    log 'stopping the runner'
    stop_runner_group "$runner_pid"
  fi
  local shutdown_command=()
  read -ra shutdown_command <<<"$SHUTDOWN_COMMAND"
  log "shutting down (exit status $status)"
  if ((${#shutdown_command[@]} == 0)); then
    log 'error: SHUTDOWN_COMMAND is empty'
  elif ! "${shutdown_command[@]}"; then
    log "error: '$SHUTDOWN_COMMAND' failed"
  fi
  exit "$status"
}

require_whole_number() {
  [[ $2 =~ ^[0-9]+$ ]] || die "$1 must be a whole number of seconds, got '$2'"
}

require_commands() {
  local command
  for command in "$@"; do
    command -v "$command" >/dev/null || die "'$command' is required but not installed"
  done
}

imds_token() {
  curl -sS --fail --max-time 5 --retry 5 --retry-connrefused -X PUT \
    -H 'X-aws-ec2-metadata-token-ttl-seconds: 21600' "$IMDS_ENDPOINT/latest/api/token"
}

# imds_get <token> <meta-data path>
imds_get() {
  curl -sS --fail --max-time 5 --retry 5 --retry-connrefused \
    -H "X-aws-ec2-metadata-token: $1" "$IMDS_ENDPOINT/latest/meta-data/$2"
}

# read_parameter <name>: prints the decrypted value. Fails when the parameter does not exist (yet);
# other errors (permissions, throttling) are logged and also fail, so the caller polls again.
read_parameter() {
  local name=$1 errors
  # stdout (the value) goes to the caller through fd 3; only stderr is captured in $errors.
  if { errors=$(aws ssm get-parameter --name "$name" --with-decryption \
    --query Parameter.Value --output text --region "$region" 2>&1 >&3 3>&-); } 3>&1; then
    return 0
  fi
  if [[ $errors != *ParameterNotFound* ]]; then
    log "warning: reading $name failed: ${errors//$'\n'/ }"
  fi
  return 1
}

# Sets registration_mode (jit or token) and registration (the parameter's value).
wait_for_registration() {
  local deadline value
  deadline=$(($(date +%s) + CONFIG_WAIT_SECONDS))
  while :; do
    if value=$(read_parameter "$instance_parameter") && [[ -n $value ]]; then
      registration_mode=jit
      registration=$value
      return 0
    fi
    if value=$(read_parameter "$pool_parameter") && [[ -n $value ]]; then
      registration_mode=token
      registration=$value
      return 0
    fi
    if (($(date +%s) > deadline)); then
      return 1
    fi
    sleep "$CONFIG_POLL_SECONDS"
  done
}

# pool_field <jq filter>: applies the filter to the pool parameter's JSON. jq's own messages can
# quote the input (the token), so they are discarded.
pool_field() {
  jq -r "$1" <<<"$registration" 2>/dev/null
}

# Runs a command in the runner's directory as RUNNER_USER (or the current user).
as_runner() {
  if [[ -n $RUNNER_USER ]]; then
    runuser -u "$RUNNER_USER" -- "$@"
  else
    "$@"
  fi
}

# Starts the runner in a session of its own, so that stopping it reaches every process it started.
start_runner() {
  if [[ -n $RUNNER_USER ]]; then
    setsid runuser -u "$RUNNER_USER" -- "$@" &
  else
    setsid "$@" &
  fi
  runner_pid=$!
}

# Stops the runner when the job-started hook has not left its marker within JOB_WAIT_SECONDS.
start_job_watchdog() {
  local group=$1
  (
    trap - EXIT TERM INT HUP
    waited=0
    while ((waited < JOB_WAIT_SECONDS)); do
      # The sleep must not hold the bootstrap's output open after the watchdog is stopped.
      sleep 1 >/dev/null 2>&1
      waited=$((waited + 1))
      if [[ -e $job_started_marker ]]; then
        exit 0
      fi
    done
    if [[ ! -e $job_started_marker ]]; then
      log "no job started within ${JOB_WAIT_SECONDS}s: stopping the runner"
      stop_runner_group "$group"
    fi
  ) &
  watchdog_pid=$!
}

register_with_token() {
  local url token labels runner_group
  require_commands jq
  [[ $(pool_field 'type == "object"') == true ]] ||
    die "$pool_parameter is not a JSON object (expected token, url, labels, runnerGroup)"
  url=$(pool_field '.url | strings') || url=''
  token=$(pool_field '.token | strings') || token=''
  labels=$(pool_field '(.labels // []) | if type == "array" and all(type == "string") then join(",") else error end') ||
    die "$pool_parameter: labels must be a list of strings"
  runner_group=$(pool_field '.runnerGroup // "" | strings') || runner_group=''
  [[ -n $url ]] || die "$pool_parameter has no url (expected JSON with token, url, labels, runnerGroup)"
  [[ -n $token ]] || die "$pool_parameter has no token"

  local args=(--unattended --ephemeral --name "$runner_name" --url "$url" --token "$token")
  if [[ -n $labels ]]; then
    args+=(--labels "$labels")
  fi
  if [[ -n $runner_group ]]; then
    args+=(--runnergroup "$runner_group")
  fi
  args+=(--disableupdate)
  log "registering runner $runner_name at $url (token registration, pool $pool)"
  as_runner ./config.sh "${args[@]}" || die "config.sh failed"
}

main() {
  trap on_exit EXIT
  trap 'exit 143' TERM
  trap 'exit 130' INT
  trap 'exit 129' HUP

  require_whole_number CONFIG_WAIT_SECONDS "$CONFIG_WAIT_SECONDS"
  [[ $CONFIG_POLL_SECONDS =~ ^[0-9]+([.][0-9]+)?$ ]] ||
    die "CONFIG_POLL_SECONDS must be a number of seconds, got '$CONFIG_POLL_SECONDS'"
  if [[ -n $JOB_WAIT_SECONDS ]]; then
    require_whole_number JOB_WAIT_SECONDS "$JOB_WAIT_SECONDS"
  fi
  require_commands curl aws setsid
  if [[ -n $RUNNER_USER ]]; then
    require_commands runuser
    id -u "$RUNNER_USER" >/dev/null 2>&1 || die "RUNNER_USER '$RUNNER_USER' does not exist"
  elif ((EUID == 0)); then
    # The runner refuses root unless told otherwise; the instance is single-use.
    export RUNNER_ALLOW_RUNASROOT=1
  fi

  local job_started_hook="${JOB_STARTED_HOOK:-$(default_hook)}"
  [[ $job_started_hook == /* ]] || die "JOB_STARTED_HOOK must be an absolute path, got '$job_started_hook'"
  [[ -r $job_started_hook ]] || die "job-started hook $job_started_hook not found (set JOB_STARTED_HOOK)"
  [[ -x $RUNNER_DIR/run.sh ]] || die "no actions runner in $RUNNER_DIR (set RUNNER_DIR)"

  local imds_session
  imds_session=$(imds_token) || die 'could not get an IMDSv2 token'
  instance_id=$(imds_get "$imds_session" instance-id) || die 'could not read the instance id from IMDS'
  log "instance $instance_id"
  region=$(imds_get "$imds_session" placement/region) || die 'could not read the region from IMDS'
  environment=$(imds_get "$imds_session" "tags/instance/$TAG_ENVIRONMENT") ||
    die "could not read tag $TAG_ENVIRONMENT from IMDS (enable instance metadata tags in the launch template)"
  pool=$(imds_get "$imds_session" "tags/instance/$TAG_POOL") ||
    die "could not read tag $TAG_POOL from IMDS (enable instance metadata tags in the launch template)"

  instance_parameter="/runner-scaler/$environment/$instance_id"
  pool_parameter="/runner-scaler/$environment/pools/$pool"
  runner_name="$environment-$instance_id"

  log "waiting up to ${CONFIG_WAIT_SECONDS}s for $instance_parameter or $pool_parameter"
  wait_for_registration ||
    die "no registration within ${CONFIG_WAIT_SECONDS}s ($instance_parameter and $pool_parameter do not exist)"

  # The hook reaches the runner through the environment; the marker tells the watchdog a job began.
  mkdir -p "$STATE_DIR"
  job_started_marker="$STATE_DIR/job-started"
  rm -f "$job_started_marker"
  if [[ -n $RUNNER_USER ]]; then
    chown "$RUNNER_USER" "$STATE_DIR"
  fi
  export ACTIONS_RUNNER_HOOK_JOB_STARTED="$job_started_hook"
  export RUNNER_SCALER_JOB_STARTED_FILE="$job_started_marker"

  cd "$RUNNER_DIR"
  if [[ $registration_mode == jit ]]; then
    local errors
    # A JIT config is single-use; the scaler deletes leftover parameters, so a failure here is not fatal.
    if ! errors=$(aws ssm delete-parameter --name "$instance_parameter" --region "$region" 2>&1); then
      log "warning: could not delete $instance_parameter: ${errors//$'\n'/ }"
    fi
    log "starting runner $runner_name (JIT config, pool $pool)"
    start_runner ./run.sh --jitconfig "$registration"
  else
    register_with_token
    log "starting runner $runner_name"
    start_runner ./run.sh
  fi
  registration=''

  if ((${JOB_WAIT_SECONDS:-0} > 0)); then
    start_job_watchdog "$runner_pid"
  fi
  local runner_status=0
  wait "$runner_pid" || runner_status=$?
  runner_pid=''
  log "the runner exited with status $runner_status"
  exit "$runner_status"
}

main "$@"
