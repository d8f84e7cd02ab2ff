#!/usr/bin/env bash
# runner-scaler instance bootstrap: registers one ephemeral GitHub Actions runner on this EC2 instance, lets it
# run one job as an unprivileged user, then powers the instance off (with the launch template's
# InstanceInitiatedShutdownBehavior=terminate, powering off terminates it).
#
# It runs as root under its own systemd unit, runner-scaler.service (bootstrap/README.md), which the user data
# starts; `runner-bootstrap.sh reboot-guard` (runner-scaler-reboot-guard.service) powers off an instance that
# rebooted after its runner started. What it does (the resource contract is in bootstrap/README.md):
#   1. IMDSv2: instance id, region, the tags runner-scaler:environment and runner-scaler:pool.
#   2. Blocks IMDS for the runner user (an owner-match firewall rule), so that jobs cannot use the instance role.
#   3. Polls SSM for /runner-scaler/<env>/<instance-id> (the JIT config: read, deleted, passed to the runner in
#      ACTIONS_RUNNER_INPUT_JITCONFIG) or /runner-scaler/<env>/pools/<pool> (token registration).
#   4. Runs the runner; when its job-started hook leaves its marker, tags the instance
#      runner-scaler:job-started=<UTC time with ms> itself (the hook has no AWS access).
#   5. Powers off when the runner exits, when no registration arrives within CONFIG_WAIT_SECONDS, when no job
#      starts within JOB_WAIT_SECONDS, at MAX_LIFETIME_SECONDS, on a signal and on any error; if the poweroff
#      fails or hangs, forces it, then terminates the instance through the EC2 API.
#
# Settings: environment variables (the unit reads /etc/runner-scaler/bootstrap.env); bootstrap/README.md lists
# them. Secrets (the JIT config, the registration token) stay in variables and the runner's environment: never
# in a command line, never logged; this script must never run with `set -x`.
set -euo pipefail
umask 077

readonly TAG_ENVIRONMENT='runner-scaler:environment'
readonly TAG_POOL='runner-scaler:pool'
readonly TAG_JOB_STARTED='runner-scaler:job-started'
readonly TAG_RUNNER_OUTDATED='runner-scaler:runner-outdated'
readonly TAG_SPOT_INTERRUPTION='runner-scaler:spot-interruption'
# run.sh passes the listener's exit code 7 on when ACTIONS_RUNNER_RETURN_VERSION_DEPRECATED_EXIT_CODE=1.
readonly EXIT_RUNNER_DEPRECATED=7

RUNNER_DIR="${RUNNER_DIR:-/opt/actions-runner}"
RUNNER_USER="${RUNNER_USER:-runner}"
CONFIG_WAIT_SECONDS="${CONFIG_WAIT_SECONDS:-900}"
CONFIG_POLL_SECONDS="${CONFIG_POLL_SECONDS:-5}"
JOB_WAIT_SECONDS="${JOB_WAIT_SECONDS:-3600}"
MAX_LIFETIME_SECONDS="${MAX_LIFETIME_SECONDS:-90000}"
RUNNER_STOP_SECONDS="${RUNNER_STOP_SECONDS:-30}"
SHUTDOWN_GRACE_SECONDS="${SHUTDOWN_GRACE_SECONDS:-120}"
SUPERVISE_POLL_SECONDS="${SUPERVISE_POLL_SECONDS:-1}"
SPOT_POLL_SECONDS="${SPOT_POLL_SECONDS:-5}"
TAG_RETRY_SECONDS="${TAG_RETRY_SECONDS:-2}"
STATE_DIR="${STATE_DIR:-/run/runner-scaler}"
BOOT_RECORD="${BOOT_RECORD:-/var/lib/runner-scaler/boot-id}"
BOOT_ID_FILE="${BOOT_ID_FILE:-/proc/sys/kernel/random/boot_id}"
IMDS_ENDPOINT="${IMDS_ENDPOINT:-http://169.254.169.254}"
export AWS_PAGER='' AWS_RETRY_MODE="${AWS_RETRY_MODE:-standard}" AWS_MAX_ATTEMPTS="${AWS_MAX_ATTEMPTS:-5}"

runner_pid=''
spot_watcher_pid=''
instance_id=''
region=''
declare -A logged=()

log() {
  printf '%s runner-scaler-bootstrap: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%S.%3NZ)" "$*" >&2
}

# Logs a message the first time only: a poll that fails every 5 s says so once.
log_once() {
  [[ -n ${logged[$*]:-} ]] && return 0
  logged[$*]=1
  log "$@"
}

die() {
  log "error: $*"
  exit 1
}

one_line() {
  printf '%s' "${1//$'\n'/ }"
}

# Ends the instance: a clean poweroff; if that fails or does not end this script within
# SHUTDOWN_GRACE_SECONDS, a forced one; if that fails too, self-termination through the EC2 API.
power_off() {
  local how
  for how in clean forced terminate; do
    case $how in
      clean) log 'powering off' && systemctl poweroff --no-wall ;;
      forced) log 'error: the poweroff did not happen: forcing it' && systemctl poweroff --force ;;
      terminate)
        log 'error: the forced poweroff did not happen: terminating the instance through the EC2 API'
        [[ -n $instance_id && -n $region ]] &&
          aws ec2 terminate-instances --instance-ids "$instance_id" --region "$region" >/dev/null
        ;;
    esac || log "error: the $how poweroff failed"
    sleep "$SHUTDOWN_GRACE_SECONDS" || true
  done
  log 'error: the instance is still running: nothing more to try'
}

# Runs on every exit, including errors (set -e) and signals: an instance never sits idle.
# shellcheck disable=SC2317 # invoked by the EXIT trap
on_exit() {
  local status=$?
  set +e
  trap - EXIT
  trap '' TERM INT HUP
  [[ -n $spot_watcher_pid ]] && kill "$spot_watcher_pid" 2>/dev/null
  if [[ -n $runner_pid ]]; then
    log 'stopping the runner'
    stop_runner_group "$runner_pid"
  fi
  log "exit status $status"
  trap - TERM INT HUP
  power_off
  exit "$status"
}

# Stops every process of the runner's session (run.sh, run-helper.sh, Runner.Listener, the job's processes) and
# waits until none is left: TERM first so that the listener can end its session, KILL after RUNNER_STOP_SECONDS.
stop_runner_group() {
  local group=$1 deadline=$((SECONDS + RUNNER_STOP_SECONDS))
  kill -TERM -- "-$group" 2>/dev/null || return 0
  while kill -0 -- "-$group" 2>/dev/null; do
    if ((SECONDS >= deadline)); then
      log "the runner did not stop within ${RUNNER_STOP_SECONDS}s: killing it"
      kill -KILL -- "-$group" 2>/dev/null || true
      deadline=$((SECONDS + 5))
    fi
    sleep 0.2
  done
  wait "$group" 2>/dev/null || true
}

require_seconds() {
  [[ $2 =~ ^[0-9]+([.][0-9]+)?$ ]] || die "$1 must be a number of seconds, got '$2'"
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

# After a reboot no user data runs and the runner's unit stays stopped: power such an instance off.
reboot_guard() {
  local recorded current
  [[ -f $BOOT_RECORD ]] || return 0
  recorded=$(<"$BOOT_RECORD") current=$(<"$BOOT_ID_FILE")
  [[ $recorded != "$current" ]] || return 0
  log 'this instance rebooted after its runner started: a runner instance serves one boot, powering off'
  power_off
}

# Sets runner_uid; as root, warns that jobs can reach the instance role.
resolve_runner_user() {
  if [[ $RUNNER_USER == root ]]; then
    log 'warning: RUNNER_USER=root: jobs run as root and can use the instance role (IMDS stays reachable)'
    runner_uid=0
    return 0
  fi
  require_commands runuser
  runner_uid=$(id -u "$RUNNER_USER" 2>/dev/null) || die "RUNNER_USER '$RUNNER_USER' does not exist"
  ((runner_uid != 0)) || die "RUNNER_USER '$RUNNER_USER' has uid 0: set RUNNER_USER=root to run jobs as root"
}

# Rejects the runner user's traffic to IMDS (an owner-match rule: nft, else iptables), then checks it.
block_imds() {
  local authority=${IMDS_ENDPOINT#*://} host port=80 rule
  authority=${authority%%/*} host=${authority%%:*}
  [[ $authority == *:* ]] && port=${authority##*:}
  if command -v nft >/dev/null; then
    rule="meta skuid $runner_uid ip daddr $host tcp dport $port reject"
    nft -f - <<<"table inet runner_scaler { chain output { type filter hook output priority 0; $rule; }; }" ||
      die 'nft could not add the rule that keeps jobs away from IMDS'
  elif command -v iptables >/dev/null; then
    iptables -w -I OUTPUT -p tcp -d "$host" --dport "$port" -m owner --uid-owner "$runner_uid" -j REJECT ||
      die 'iptables could not add the rule that keeps jobs away from IMDS'
  else
    die 'neither nft nor iptables is installed: cannot keep jobs away from IMDS'
  fi
  if runuser -u "$RUNNER_USER" -- curl -sS --max-time 3 -X PUT \
    -H 'X-aws-ec2-metadata-token-ttl-seconds: 60' "$IMDS_ENDPOINT/latest/api/token" >/dev/null 2>&1; then
    die "IMDS still answers $RUNNER_USER after the firewall rule: not starting a runner"
  fi
  log "IMDS blocked for $RUNNER_USER"
}

# read_parameter <name>: sets parameter_value to the decrypted value. Fails when the parameter does not exist
# (yet); other errors (permissions, throttling) are logged once each and also fail, so that the caller polls again.
read_parameter() {
  local name=$1 errors
  if parameter_value=$(aws ssm get-parameter --name "$name" --with-decryption \
    --query Parameter.Value --output text --region "$region" 2>"$errors_file"); then
    return 0
  fi
  parameter_value='' errors=$(<"$errors_file")
  [[ $errors == *ParameterNotFound* ]] || log_once "warning: reading $name failed: $(one_line "$errors")"
  return 1
}

# Sets registration_mode (jit or token) and registration (the parameter's value).
wait_for_registration() {
  local deadline
  deadline=$(($(date +%s) + ${CONFIG_WAIT_SECONDS%.*}))
  while :; do
    if read_parameter "$instance_parameter" && [[ -n $parameter_value ]]; then
      registration_mode=jit registration=$parameter_value
      return 0
    fi
    if read_parameter "$pool_parameter" && [[ -n $parameter_value ]]; then
      registration_mode=token registration=$parameter_value
      return 0
    fi
    (($(date +%s) <= deadline)) || return 1
    sleep "$CONFIG_POLL_SECONDS"
  done
}

# pool_field <jq filter>: jq's own messages can quote the input (the token), so they are discarded.
pool_field() {
  jq -r "$1" <<<"$registration" 2>/dev/null
}

# Runs a command in the runner's directory as the runner user, the registration token in its environment.
as_runner() {
  if [[ $RUNNER_USER == root ]]; then
    "$@"
  else
    runuser -u "$RUNNER_USER" -- "$@"
  fi
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

  local args=(--unattended --ephemeral --name "$runner_name" --url "$url")
  [[ -z $labels ]] || args+=(--labels "$labels")
  [[ -z $runner_group ]] || args+=(--runnergroup "$runner_group")
  args+=(--disableupdate)
  log "registering runner $runner_name at $url (token registration, pool $pool)"
  # The runner reads ACTIONS_RUNNER_INPUT_<ARG> like --<arg>, and masks it: the token stays out of argv.
  (
    export ACTIONS_RUNNER_INPUT_TOKEN=$token
    runner_environment
    as_runner ./config.sh "${args[@]}"
  ) || die 'config.sh failed'
}

# The runner's environment, as systemd starts the bootstrap with almost none.
runner_environment() {
  export ACTIONS_RUNNER_HOOK_JOB_STARTED=$job_started_hook
  export RUNNER_SCALER_JOB_STARTED_FILE=$job_started_marker
  export ACTIONS_RUNNER_RETURN_VERSION_DEPRECATED_EXIT_CODE=1
  export LANG=${LANG:-C.UTF-8}
  # runuser sets HOME, USER and LOGNAME for another user; root needs them set here.
  if [[ $RUNNER_USER == root ]]; then
    export HOME=/root USER=root LOGNAME=root RUNNER_ALLOW_RUNASROOT=1
  fi
}

# start_runner [secret variable] [value]: run.sh in a session of its own, so that stopping it reaches every
# process it started.
start_runner() {
  local secret_name=${1:-} secret=${2:-}
  (
    [[ -z $secret_name ]] || export "$secret_name=$secret"
    runner_environment
    # umask 077 again after runuser (PAM may set another): the runner writes its credentials files with it.
    if [[ $RUNNER_USER == root ]]; then
      exec setsid /bin/bash -c 'umask 077 && exec ./run.sh'
    else
      exec setsid runuser -u "$RUNNER_USER" -- /bin/bash -c 'umask 077 && exec ./run.sh'
    fi
  ) &
  runner_pid=$!
}

# tag_self <key> <value>: tags this instance, trying again on failure; each distinct error is logged once.
tag_self() {
  local key=$1 value=$2 attempt errors delay=$TAG_RETRY_SECONDS
  for attempt in 1 2 3 4 5; do
    if errors=$(aws ec2 create-tags --resources "$instance_id" --tags "Key=$key,Value=$value" \
      --region "$region" --cli-connect-timeout 5 --cli-read-timeout 10 2>&1); then
      log "tagged $instance_id $key=$value"
      return 0
    fi
    log_once "warning: tagging $instance_id $key failed: $(one_line "$errors")"
    ((attempt == 5)) || sleep "$delay"
    delay=$(awk -v d="$delay" 'BEGIN { print d * 2 }')
  done
  log "error: $instance_id is not tagged $key after 5 attempts"
  return 1
}

# The job's start time: the marker's modification time in ms, unless a job moved it outside the runner's life.
job_started_at() {
  local marked now
  marked=$(date -u -r "$job_started_marker" +%s%3N) now=$(date -u +%s%3N)
  ((marked >= runner_started_ms && marked <= now)) || marked=$now
  date -u -d "@${marked:0:-3}.${marked: -3}" +%Y-%m-%dT%H:%M:%S.%3NZ
}

# Logs and reports a spot interruption notice (meta-data/spot/instance-action) once.
watch_spot_interruption() {
  (
    trap - EXIT TERM INT HUP
    local token notice action time
    while :; do
      sleep "$SPOT_POLL_SECONDS" >/dev/null 2>&1
      token=$(imds_token 2>/dev/null) || continue
      notice=$(curl -sS --fail --max-time 2 -H "X-aws-ec2-metadata-token: $token" \
        "$IMDS_ENDPOINT/latest/meta-data/spot/instance-action" 2>/dev/null) || continue
      [[ $notice =~ \"action\"[[:space:]]*:[[:space:]]*\"([a-z]+)\" ]] && action=${BASH_REMATCH[1]}
      [[ $notice =~ \"time\"[[:space:]]*:[[:space:]]*\"([0-9TZ:.-]+)\" ]] && time=${BASH_REMATCH[1]}
      log "spot interruption notice: ${action:-unknown} at ${time:-unknown}: the job running now will be lost"
      tag_self "$TAG_SPOT_INTERRUPTION" "${action:-unknown}@${time:-unknown}" || true
      exit 0
    done
  ) &
  spot_watcher_pid=$!
}

# Milliseconds since the epoch (bash's clock: no process per call).
now_ms() {
  local now=${EPOCHREALTIME/[.,]/}
  printf '%s\n' "${now:0:-3}"
}

# Waits for the runner while tagging the job start, enforcing JOB_WAIT_SECONDS and MAX_LIFETIME_SECONDS;
# sets runner_status.
supervise_runner() {
  local started job_started='' reason='' tag_pid='' elapsed
  started=$(now_ms)
  while kill -0 "$runner_pid" 2>/dev/null; do
    elapsed=$(($(now_ms) - started))
    if [[ -z $job_started && -e $job_started_marker ]]; then
      job_started=1
      tag_self "$TAG_JOB_STARTED" "$(job_started_at)" &
      tag_pid=$!
    fi
    if [[ -z $job_started ]] && ((JOB_WAIT_SECONDS > 0 && elapsed >= JOB_WAIT_SECONDS * 1000)); then
      reason="no job started within ${JOB_WAIT_SECONDS}s"
    elif ((MAX_LIFETIME_SECONDS > 0 && $(now_ms) - booted_ms >= MAX_LIFETIME_SECONDS * 1000)); then
      reason="the instance reached MAX_LIFETIME_SECONDS (${MAX_LIFETIME_SECONDS}s)"
    fi
    if [[ -n $reason ]]; then
      log "$reason: stopping the runner"
      stop_runner_group "$runner_pid"
      runner_pid=''
      runner_status=124
      return 0
    fi
    sleep "$SUPERVISE_POLL_SECONDS"
  done
  runner_status=0
  wait "$runner_pid" || runner_status=$?
  runner_pid=''
  # The job-started tag, if it is still being written.
  [[ -z $tag_pid ]] || wait "$tag_pid" || true
}

check_settings() {
  local name
  for name in CONFIG_WAIT_SECONDS CONFIG_POLL_SECONDS RUNNER_STOP_SECONDS SHUTDOWN_GRACE_SECONDS \
    SUPERVISE_POLL_SECONDS SPOT_POLL_SECONDS TAG_RETRY_SECONDS; do
    require_seconds "$name" "${!name}"
  done
  for name in JOB_WAIT_SECONDS MAX_LIFETIME_SECONDS; do
    [[ ${!name} =~ ^[0-9]+$ ]] || die "$name must be a whole number of seconds (0: no limit), got '${!name}'"
  done
  [[ $RUNNER_USER =~ ^[a-z_][a-z0-9_-]*[$]?$ ]] || die "RUNNER_USER must be a user name, got '$RUNNER_USER'"
  require_commands curl aws setsid
  job_started_hook="${JOB_STARTED_HOOK:-$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/job-started.sh}"
  [[ $job_started_hook == /* ]] || die "JOB_STARTED_HOOK must be an absolute path, got '$job_started_hook'"
  [[ -r $job_started_hook ]] || die "job-started hook $job_started_hook not found (set JOB_STARTED_HOOK)"
  [[ -x $RUNNER_DIR/run.sh ]] || die "no actions runner in $RUNNER_DIR (set RUNNER_DIR)"
}

read_instance_identity() {
  local session
  session=$(imds_token) || die 'could not get an IMDSv2 token'
  instance_id=$(imds_get "$session" instance-id) || die 'could not read the instance id from IMDS'
  log "instance $instance_id"
  region=$(imds_get "$session" placement/region) || die 'could not read the region from IMDS'
  environment=$(imds_get "$session" "tags/instance/$TAG_ENVIRONMENT") ||
    die "could not read tag $TAG_ENVIRONMENT from IMDS (enable instance metadata tags in the launch template)"
  pool=$(imds_get "$session" "tags/instance/$TAG_POOL") ||
    die "could not read tag $TAG_POOL from IMDS (enable instance metadata tags in the launch template)"
  lifecycle=$(imds_get "$session" instance-life-cycle 2>/dev/null) || lifecycle=''
}

# The state directory holds the hook's marker; only the runner user (and root) may enter it.
prepare_state_dir() {
  mkdir -p "$STATE_DIR"
  chmod 0700 "$STATE_DIR"
  [[ $RUNNER_USER == root ]] || chown "$RUNNER_USER" "$STATE_DIR"
  job_started_marker="$STATE_DIR/job-started"
  rm -f "$job_started_marker"
}

report_runner_exit() {
  log "the runner exited with status $runner_status"
  if ((runner_status == EXIT_RUNNER_DEPRECATED)); then
    log "error: this runner version is deprecated and GitHub sends it no job: put a newer actions runner in the AMI"
    tag_self "$TAG_RUNNER_OUTDATED" "$(date -u +%Y-%m-%dT%H:%M:%S.%3NZ)" || true
  fi
}

main() {
  if [[ ${1:-} == reboot-guard ]]; then
    reboot_guard
    exit 0
  fi
  trap on_exit EXIT
  trap 'exit 143' TERM
  trap 'exit 130' INT
  trap 'exit 129' HUP
  booted_ms=$(now_ms)
  mkdir -p "$(dirname "$BOOT_RECORD")" && cat "$BOOT_ID_FILE" >"$BOOT_RECORD"
  errors_file=$(mktemp)
  check_settings
  resolve_runner_user
  read_instance_identity
  [[ $RUNNER_USER == root ]] || block_imds
  [[ $lifecycle != spot ]] || watch_spot_interruption

  instance_parameter="/runner-scaler/$environment/$instance_id"
  pool_parameter="/runner-scaler/$environment/pools/$pool"
  runner_name="$environment-$instance_id"
  log "waiting up to ${CONFIG_WAIT_SECONDS}s for $instance_parameter or $pool_parameter"
  wait_for_registration ||
    die "no registration within ${CONFIG_WAIT_SECONDS}s ($instance_parameter and $pool_parameter do not exist)"

  prepare_state_dir
  cd "$RUNNER_DIR"
  runner_started_ms=$(date -u +%s%3N)
  if [[ $registration_mode == jit ]]; then
    local errors
    # A JIT config is single-use; the scaler deletes leftover parameters, so a failure here is not fatal.
    errors=$(aws ssm delete-parameter --name "$instance_parameter" --region "$region" 2>&1) ||
      log "warning: could not delete $instance_parameter: $(one_line "$errors")"
    log "starting runner $runner_name as $RUNNER_USER (JIT config, pool $pool)"
    start_runner ACTIONS_RUNNER_INPUT_JITCONFIG "$registration"
  else
    register_with_token
    log "starting runner $runner_name as $RUNNER_USER"
    start_runner
  fi
  registration=''
  supervise_runner
  report_runner_exit
  exit "$runner_status"
}

main "$@"
