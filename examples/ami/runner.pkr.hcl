# The runner AMI: Ubuntu 24.04 LTS with the GitHub Actions runner (pinned below, checksum-verified) and
# its dependencies, what the bootstrap needs (AWS CLI v2, jq, curl, util-linux), and runner-scaler's
# bootstrap installed to /opt/runner-scaler/ as bootstrap/README.md documents. Instances launched from
# it require IMDSv2. Build from this folder (README.md here):
#
#   packer init . && packer build -var region=eu-west-1 .
#
# runner_version and runner_sha256 are the pin that `npm run runner-version -- update` rewrites, and
# that the scheduled workflow .github/workflows/runner-version.yml compares with the latest release.

packer {
  required_version = ">= 1.10.0"
  required_plugins {
    amazon = {
      source  = "github.com/hashicorp/amazon"
      version = "~> 1.8"
    }
  }
}

variable "region" {
  type        = string
  description = "AWS region to build the AMI in, such as eu-west-1."
}

variable "arch" {
  type        = string
  default     = "x64"
  description = "Runner architecture: x64 (amd64 instances) or arm64 (Graviton)."
  validation {
    condition     = contains(["x64", "arm64"], var.arch)
    error_message = "The arch must be x64 or arm64."
  }
}

variable "instance_type" {
  type        = string
  default     = ""
  description = "Instance type of the build; empty picks t3.small (x64) or t4g.small (arm64)."
}

variable "subnet_id" {
  type        = string
  default     = ""
  description = "Subnet of the build instance (it needs to reach GitHub, AWS and Ubuntu's mirrors); empty uses the default VPC."
}

variable "ami_name_prefix" {
  type        = string
  default     = "runner-scaler-runner"
  description = "The AMI is named <prefix>-<runner version>-<arch>-<build time>."
}

variable "runner_user" {
  type        = string
  default     = "runner"
  description = "User that owns /opt/actions-runner, for the bootstrap's RUNNER_USER; empty leaves it to root."
}

variable "runner_version" {
  type        = string
  default     = "2.336.0"
  description = "actions/runner release to install (https://github.com/actions/runner/releases)."
}

variable "runner_sha256" {
  type = map(string)
  default = {
    x64   = "04cf0be1aff4c3ec3554466c39124ca250e3effd8873bb7e8d68535aa9505d5d"
    arm64 = "58b758e420b87093fbd4bfddd368074960053e2f1388f01848c82624b90f27d1"
  }
  description = "SHA-256 of actions-runner-linux-<arch>-<runner_version>.tar.gz, from the release notes."
}

locals {
  ubuntu_arch   = var.arch == "x64" ? "amd64" : "arm64"
  awscli_arch   = var.arch == "x64" ? "x86_64" : "aarch64"
  instance_type = var.instance_type != "" ? var.instance_type : (var.arch == "x64" ? "t3.small" : "t4g.small")
  build_time    = formatdate("YYYYMMDDhhmmss", timestamp())
  runner_url    = "https://github.com/actions/runner/releases/download/v${var.runner_version}/actions-runner-linux-${var.arch}-${var.runner_version}.tar.gz"
  # The install step bootstrap/README.md documents, run in the folder that holds bootstrap/.
  bootstrap_install = "bash bootstrap/install.sh"
}

source "amazon-ebs" "runner" {
  region          = var.region
  instance_type   = local.instance_type
  subnet_id       = var.subnet_id
  ssh_username    = "ubuntu"
  ami_name        = "${var.ami_name_prefix}-${var.runner_version}-${var.arch}-${local.build_time}"
  ami_description = "GitHub Actions runner ${var.runner_version} (${var.arch}) with the runner-scaler bootstrap"

  source_ami_filter {
    filters = {
      name                = "ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-${local.ubuntu_arch}-server-*"
      root-device-type    = "ebs"
      virtualization-type = "hvm"
    }
    owners      = ["099720109477"] # Canonical
    most_recent = true
  }

  # Instances launched from the AMI require IMDSv2 (HttpTokens=required) unless their launch template
  # says otherwise; the build instance requires it too.
  imds_support = "v2.0"
  metadata_options {
    http_endpoint               = "enabled"
    http_tokens                 = "required"
    http_put_response_hop_limit = 1
  }

  temporary_security_group_source_public_ip = true

  tags = {
    Name                           = "${var.ami_name_prefix}-${var.runner_version}-${var.arch}"
    "runner-scaler:runner-version" = var.runner_version
    "runner-scaler:arch"           = var.arch
  }
}

build {
  sources = ["source.amazon-ebs.runner"]

  # The runner, its dependencies and the bootstrap's (provision.sh says what and why).
  provisioner "shell" {
    script          = "${path.root}/provision.sh"
    # As root, with the environment_vars ({{ .Vars }}) that sudo would otherwise drop.
    execute_command = "chmod +x {{ .Path }}; sudo env {{ .Vars }} {{ .Path }}"
    environment_vars = [
      "RUNNER_URL=${local.runner_url}",
      "RUNNER_SHA256=${var.runner_sha256[var.arch]}",
      "RUNNER_USER=${var.runner_user}",
      "AWSCLI_ARCH=${local.awscli_arch}",
    ]
  }

  # The whole bootstrap/ folder, installed by its documented step.
  provisioner "shell" {
    inline = ["rm -rf /tmp/runner-scaler && mkdir -p /tmp/runner-scaler"]
  }
  provisioner "file" {
    source      = "${path.root}/../../bootstrap"
    destination = "/tmp/runner-scaler"
  }
  provisioner "shell" {
    inline = [
      "cd /tmp/runner-scaler",
      "sudo install -d -m 0755 /opt/runner-scaler",
      "sudo ${local.bootstrap_install}",
      "ls -l /opt/runner-scaler",
      "rm -rf /tmp/runner-scaler",
      # Logs of this build stay out of the instances launched from the image.
      "sudo cloud-init clean --logs",
    ]
  }
}
