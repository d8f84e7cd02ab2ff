#!/usr/bin/env bash
# Installs the instance side into an AMI, as root, from a copy of this folder (a checkout, or what an image
# build uploaded): the scripts to /opt/runner-scaler/, the systemd units to /etc/systemd/system/, the reboot
# guard enabled. runner-scaler.service stays disabled: the launch template's user data starts it.
set -euo pipefail
here=$(dirname "$0")
install -d /opt/runner-scaler
install -m 0755 "$here/runner-bootstrap.sh" "$here/job-started.sh" /opt/runner-scaler/
install -m 0644 "$here/README.md" /opt/runner-scaler/
install -m 0644 "$here/runner-scaler.service" "$here/runner-scaler-reboot-guard.service" /etc/systemd/system/
systemctl enable runner-scaler-reboot-guard.service
# Never bake a boot record into the image: the reboot guard would power off every instance of it.
rm -rf /var/lib/runner-scaler
