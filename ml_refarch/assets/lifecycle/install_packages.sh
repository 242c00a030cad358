#!/bin/bash
# Installs the team's Python packages on a SageMaker notebook that has no internet access.
#
# Notes sections served: "Sagemaker notebook" (a lifecycle configuration installs the libraries
# when the notebook is created or started) and "Security" (a notebook without direct internet
# access reaches AWS only through VPC endpoints, so packages come from a CodeArtifact repository
# or from a wheelhouse in S3, never from the public PyPI).
#
# The same body serves two lifecycle configurations:
#   notebook-instance  OnCreate and OnStart of a notebook instance. Runs as root; Jupyter runs as
#                      ec2-user, so pip configuration and installs happen as ec2-user, into the
#                      conda environment "python3".
#   studio             A Studio JupyterLab app. Runs as sagemaker-user, without sudo.
#
# Settings are shell variables assigned above this body by ml_refarch.lifecycle.render_script
# (or exported in the environment):
#   TARGET                     notebook-instance | studio
#   PACKAGE_SOURCE             codeartifact | s3-wheelhouse
#   AWS_REGION                 region of the CodeArtifact domain (and of the CLI calls)
#   CODEARTIFACT_DOMAIN        \
#   CODEARTIFACT_DOMAIN_OWNER   > codeartifact only
#   CODEARTIFACT_REPOSITORY    /
#   WHEELHOUSE_S3_URI          s3-wheelhouse only: s3://bucket/prefix holding wheels
#   PACKAGES                   space-separated requirement specifiers
# Test-only override, never set by the stacks:
#   ML_REFARCH_HOME            the target user's home directory (default: /home/ec2-user for
#                              notebook-instance, $HOME for studio)
#
# Every step is logged to stdout, which SageMaker sends to CloudWatch Logs. The CodeArtifact
# token is never printed and never passed on a command line (where ps would show it).

set -euo pipefail

log() {
    printf '%s ml-refarch lifecycle: %s\n' "$(date -u '+%Y-%m-%dT%H:%M:%SZ')" "$*"
}

die() {
    log "ERROR: $*" >&2
    exit 1
}

# require NAME PATTERN HINT: NAME must be set and match PATTERN.
require() {
    local name=$1 pattern=$2 hint=$3
    local value=${!name:-}
    [[ -n $value ]] || die "$name is not set; expected $hint"
    [[ $value =~ $pattern ]] || die "$name='$value' is not valid; expected $hint"
}

# ---------------------------------------------------------------------------------------------
# Settings

require TARGET '^(notebook-instance|studio)$' 'notebook-instance or studio'
require PACKAGE_SOURCE '^(codeartifact|s3-wheelhouse)$' 'codeartifact or s3-wheelhouse'
require AWS_REGION '^[a-z]{2}(-[a-z]+)+-[0-9]+$' 'a region name such as us-east-1'
if [[ $PACKAGE_SOURCE == codeartifact ]]; then
    require CODEARTIFACT_DOMAIN '^[a-z][a-z0-9-]{0,48}[a-z0-9]$' \
        'a CodeArtifact domain name (2-50 lowercase letters, digits and hyphens)'
    require CODEARTIFACT_DOMAIN_OWNER '^[0-9]{12}$' 'the 12-digit account id owning the domain'
    require CODEARTIFACT_REPOSITORY '^[A-Za-z0-9][A-Za-z0-9._-]{1,99}$' \
        'a CodeArtifact repository name (2-100 letters, digits, ".", "_" and "-")'
else
    require WHEELHOUSE_S3_URI '^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/.*)?$' \
        'an s3://bucket/prefix URI'
fi
require PACKAGES '[^[:space:]]' 'space-separated requirement specifiers'

# Reading into an array splits on whitespace without glob expansion, so "pandas[parquet]" stays
# literal. A specifier must start with a letter or digit so that none can pass as a pip option.
read -r -a package_list <<<"$PACKAGES"
spec_pattern='^[A-Za-z0-9][][A-Za-z0-9._,*+!=<>~-]*$'
for spec in "${package_list[@]}"; do
    [[ $spec =~ $spec_pattern ]] ||
        die "PACKAGES entry '$spec' is not a plain requirement specifier (name[extras]<version>)"
done
package_count=${#package_list[@]}

if [[ $TARGET == notebook-instance ]]; then
    target_home=${ML_REFARCH_HOME:-/home/ec2-user}
    pip_command=$target_home/anaconda3/envs/python3/bin/pip
    [[ -x $pip_command ]] || die "no pip at $pip_command; the conda environment python3 is missing"
else
    target_home=${ML_REFARCH_HOME:-${HOME:?HOME is not set}}
    pip_command=$(command -v pip) || die "no pip on PATH"
fi
pip_conf_dir=$target_home/.config/pip
pip_conf=$pip_conf_dir/pip.conf

# Files under the target home must belong to the user Jupyter runs as, or that user could not
# read its own pip.conf nor later change its own ~/.config.
as_target_user() {
    if [[ $TARGET == notebook-instance ]]; then
        sudo -u ec2-user -H -- "$@"
    else
        "$@"
    fi
}

# write_pip_conf < content: the file is created with mode 600 from the start, so the token in it
# is never readable by others, not even for a moment.
write_pip_conf() {
    as_target_user mkdir -p -- "$pip_conf_dir"
    # shellcheck disable=SC2016 # $1 is expanded by the inner sh, on purpose.
    as_target_user sh -c 'umask 077 && cat >"$1" && chmod 600 "$1"' sh "$pip_conf"
}

# ---------------------------------------------------------------------------------------------
# pip configuration: synchronous, so that a broken package source fails the lifecycle run with a
# clear message instead of surfacing later as a pip error in a notebook.

if [[ $PACKAGE_SOURCE == codeartifact ]]; then
    log "requesting a CodeArtifact token for domain $CODEARTIFACT_DOMAIN" \
        "(owner $CODEARTIFACT_DOMAIN_OWNER) in $AWS_REGION"
    if ! token=$(aws codeartifact get-authorization-token \
        --domain "$CODEARTIFACT_DOMAIN" --domain-owner "$CODEARTIFACT_DOMAIN_OWNER" \
        --region "$AWS_REGION" --query authorizationToken --output text); then
        die "could not get a CodeArtifact authorization token for domain $CODEARTIFACT_DOMAIN;" \
            "check the role's codeartifact:GetAuthorizationToken and sts:GetServiceBearerToken" \
            "permissions and the codeartifact.api VPC endpoint"
    fi
    [[ -n $token && $token != None ]] || die "CodeArtifact returned an empty authorization token"
    if ! endpoint=$(aws codeartifact get-repository-endpoint \
        --domain "$CODEARTIFACT_DOMAIN" --domain-owner "$CODEARTIFACT_DOMAIN_OWNER" \
        --repository "$CODEARTIFACT_REPOSITORY" --format pypi \
        --region "$AWS_REGION" --query repositoryEndpoint --output text); then
        die "could not get the pypi endpoint of CodeArtifact repository" \
            "$CODEARTIFACT_REPOSITORY; check codeartifact:GetRepositoryEndpoint and the" \
            "codeartifact.api VPC endpoint"
    fi
    [[ $endpoint == https://* ]] || die "unexpected CodeArtifact repository endpoint '$endpoint'"
    endpoint=${endpoint%/}/
    # The token lives in the index URL, as "aws codeartifact login --tool pip" does it. It expires
    # (12 hours by default); OnStart fetches a fresh one each time the notebook starts. A
    # repository fetches a package from its upstream on first request, which can be slow: hence
    # the generous timeout and retries.
    printf '[global]\nindex-url = https://aws:%s@%ssimple/\ntimeout = 60\nretries = 5\n' \
        "$token" "${endpoint#https://}" | write_pip_conf
    unset token
    log "configured pip for codeartifact repository $CODEARTIFACT_REPOSITORY ($endpoint)"
else
    wheelhouse=$target_home/.wheelhouse
    as_target_user mkdir -p -- "$wheelhouse"
    log "syncing the wheelhouse $WHEELHOUSE_S3_URI to $wheelhouse"
    # --delete keeps the local copy an exact mirror, so a wheel withdrawn from S3 cannot still
    # satisfy a ">=" specifier here.
    if ! aws s3 sync "$WHEELHOUSE_S3_URI" "$wheelhouse" --only-show-errors --delete; then
        die "could not sync the wheelhouse $WHEELHOUSE_S3_URI; check the role's s3:ListBucket" \
            "and s3:GetObject permissions and the S3 gateway VPC endpoint"
    fi
    file_count=$(find "$wheelhouse" -type f | wc -l)
    # Without an index pip resolves every dependency from the wheelhouse alone, so it must hold
    # the whole dependency closure (as "pip download -d" produces it).
    printf '[global]\nno-index = true\nfind-links = %s\n' "$wheelhouse" | write_pip_conf
    log "configured pip for s3-wheelhouse $WHEELHOUSE_S3_URI ($((file_count)) file(s))"
fi

# ---------------------------------------------------------------------------------------------
# Installation

# The version check would try to reach the public PyPI, which this network cannot.
pip_install=("$pip_command" install --quiet --disable-pip-version-check "${package_list[@]}")

if [[ $TARGET == notebook-instance ]]; then
    # A notebook instance fails to start if OnStart runs longer than 5 minutes, and a large
    # install can take longer, so pip runs in the background under nohup (as SageMaker's
    # lifecycle guidance suggests). The background job writes to a log file only: a process
    # still holding the run's stdout could keep the run waiting for end-of-file, or be killed by
    # SIGPIPE once the run has ended. The home directory outside ~/SageMaker is rebuilt on every
    # start, so the packages are installed again each time.
    install_log=$target_home/.ml-refarch-install-packages.log
    : >"$install_log"
    log "installing $package_count package(s) in the background: ${package_list[*]};" \
        "pip output and the result go to $install_log" | tee -a "$install_log"
    (
        if nohup sudo -u ec2-user -H -- "${pip_install[@]}" </dev/null; then
            log "installed $package_count package(s): ${package_list[*]}"
        else
            log "ERROR: pip install failed with exit status $?"
        fi
    ) >>"$install_log" 2>&1 &
else
    # Studio also stops a lifecycle run after 5 minutes, but there the run is synchronous: the
    # packages are in place when JupyterLab opens, and a failed install stops the app with the
    # error in its log instead of going unnoticed. Keep PACKAGES small enough to install in that
    # time (a wheelhouse installs fastest).
    "${pip_install[@]}" || die "pip install failed with exit status $?"
    log "installed $package_count package(s): ${package_list[*]}"
fi
