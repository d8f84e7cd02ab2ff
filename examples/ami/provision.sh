#!/usr/bin/env bash
# Provisions the runner AMI (runner.pkr.hcl runs it as root on Ubuntu 24.04):
# - what runner-scaler's bootstrap calls: bash, curl, the AWS CLI v2, jq, setsid and runuser
#   (util-linux), GNU coreutils (bootstrap/README.md, "What the instance needs");
# - the GitHub Actions runner in /opt/actions-runner, checked against its release's SHA-256, with the
#   libraries it needs (its own bin/installdependencies.sh), owned by RUNNER_USER when set.
# Settings (environment): RUNNER_URL, RUNNER_SHA256, AWSCLI_ARCH (x86_64 or aarch64), RUNNER_USER.
set -euo pipefail

: "${RUNNER_URL:?RUNNER_URL (the runner tarball) is required}"
: "${RUNNER_SHA256:?RUNNER_SHA256 (its SHA-256 from the release notes) is required}"
: "${AWSCLI_ARCH:?AWSCLI_ARCH (x86_64 or aarch64) is required}"
RUNNER_USER="${RUNNER_USER:-}"
RUNNER_DIR=/opt/actions-runner
# The AWS CLI team's signing key (AWS CLI user guide, "Verify the integrity and authenticity").
AWSCLI_KEY_FINGERPRINT=FB5DB77FD5C118B80511ADA8A6310ACC4672475C
export DEBIAN_FRONTEND=noninteractive

log() { printf 'provision: %s\n' "$*" >&2; }

# cloud-init may still be installing packages on first boot.
cloud-init status --wait >/dev/null || log "cloud-init reported a problem; continuing"

log "packages"
apt-get update -q
apt-get install -y -q --no-install-recommends ca-certificates curl jq unzip gnupg util-linux coreutils
# The image is rebuilt with each runner release; unattended upgrades on a runner would only hold apt's
# lock while a job runs.
systemctl disable --now apt-daily.timer apt-daily-upgrade.timer unattended-upgrades.service || true

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

log "AWS CLI v2 (${AWSCLI_ARCH})"
curl -fsSL -o "$work/awscliv2.zip" "https://awscli.amazonaws.com/awscli-exe-linux-${AWSCLI_ARCH}.zip"
curl -fsSL -o "$work/awscliv2.sig" "https://awscli.amazonaws.com/awscli-exe-linux-${AWSCLI_ARCH}.zip.sig"
export GNUPGHOME="$work/gnupg"
install -d -m 0700 "$GNUPGHOME"
gpg --batch --keyserver hkps://keyserver.ubuntu.com --recv-keys "$AWSCLI_KEY_FINGERPRINT"
gpg --batch --verify "$work/awscliv2.sig" "$work/awscliv2.zip"
unzip -q "$work/awscliv2.zip" -d "$work"
"$work/aws/install" --update --bin-dir /usr/local/bin --install-dir /usr/local/aws-cli
aws --version

log "actions runner: ${RUNNER_URL##*/}"
install -d -m 0755 "$RUNNER_DIR"
curl -fsSL -o "$work/runner.tar.gz" "$RUNNER_URL"
echo "${RUNNER_SHA256}  $work/runner.tar.gz" | sha256sum --check --strict -
tar -xzf "$work/runner.tar.gz" -C "$RUNNER_DIR"
"$RUNNER_DIR/bin/installdependencies.sh"

if [ -n "$RUNNER_USER" ]; then
  log "runner user ${RUNNER_USER}"
  id -u "$RUNNER_USER" >/dev/null 2>&1 || useradd --create-home --shell /bin/bash "$RUNNER_USER"
  chown -R "$RUNNER_USER:" "$RUNNER_DIR"
fi

for command in bash curl aws jq setsid runuser sha256sum; do
  command -v "$command" >/dev/null || {
    log "missing after provisioning: $command"
    exit 1
  }
done
log "done"
