#!/bin/sh
# Installs what building and testing need on Debian 12 (as root), and does
# nothing for what is already there. Used by ./automation on first run, by
# ./test.sh and by .ci/run.
set -eu

# shellcheck checks deploy/linux and deploy/testhost (BootstrapScriptTests);
# debootstrap makes the stock-machine fixture (deploy/testhost/rootfs.sh);
# xfsprogs and btrfs-progs are for prepare-workdir's filesystem tests.
APT_PACKAGES="libssh2-1-dev libcurl4-openssl-dev libssl-dev pkg-config
openssh-server openssh-client rsync util-linux iproute2 procps curl
python3 python3-pip python3-venv python3-dev make gcc chromium
shellcheck debootstrap xfsprogs btrfs-progs e2fsprogs"
# moto's server for the AWS tests; pytest and xdist for the pytest runner and
# its baseline; uv for building Mercurial in place (`make local`).
PIP_PACKAGES="moto[server] pytest pytest-xdist uv"

missing=""
for pkg in $APT_PACKAGES; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing="$missing $pkg"
done
if [ -n "$missing" ]; then
    if [ "$(id -u)" -ne 0 ]; then
        echo "install-deps: missing Debian packages:$missing" >&2
        echo "install-deps: run as root, or: sudo apt-get install -y$missing" >&2
        exit 1
    fi
    echo "install-deps: installing$missing" >&2
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >&2
fi

python=$(command -v python3)
need_pip=""
"$python" -c "import moto.server" 2>/dev/null || need_pip="$need_pip moto[server]"
"$python" -c "import pytest" 2>/dev/null || need_pip="$need_pip pytest"
"$python" -c "import xdist" 2>/dev/null || need_pip="$need_pip pytest-xdist"
command -v uv >/dev/null 2>&1 || "$python" -m uv --version >/dev/null 2>&1 || need_pip="$need_pip uv"
if [ -n "$need_pip" ]; then
    echo "install-deps: pip installing$need_pip" >&2
    "$python" -m pip install -q --disable-pip-version-check $need_pip >&2 \
        || "$python" -m pip install -q --disable-pip-version-check --break-system-packages $need_pip >&2
fi
