#!/bin/bash
# The launch template's user data: cloud-init runs it as root once, on the first boot. It writes the bootstrap's
# settings (all optional, bootstrap/README.md) and starts the runner's unit without waiting for it: the runner
# runs outside cloud-init, which then finishes.
set -euo pipefail
install -d -m 0755 /etc/runner-scaler
cat >/etc/runner-scaler/bootstrap.env <<'SETTINGS'
RUNNER_USER=runner
JOB_WAIT_SECONDS=3600
SETTINGS
systemctl start --no-block runner-scaler.service
