#!/bin/sh
# Turns a stock Debian 12, Debian 11, Ubuntu 24.04 or Ubuntu 22.04 machine
# into the remote interface Mercurial's automation expects (see
# docs/bootstrap.md): user and group hg with passwordless sudo and the given
# SSH key authorised, /bin/bash, /hgdev owned by hg:hg with the Pythons to
# test with, /hgdev/venv-bootstrap/bin/hg, /hgdev/src, and the distribution
# packages Mercurial's test suite uses.
#
# Run as root (automation bootstrap-linux-dev runs it through sudo):
#
#   bootstrap.sh --authorized-key 'ssh-ed25519 AAAA… comment' \
#       [--pythons system|VERSION[,VERSION…]] [--hg-version X.Y.Z] \
#       [--src URL|pypi]
#
#   --pythons   "system" uses the distribution's python3 (no internet beyond
#               the package registry); pyenv versions (the default list
#               below) are downloaded and compiled, which needs github.com
#               and python.org and takes long.
#   --src       where /hgdev/src comes from: an hg URL to clone (default, the
#               canonical repository), or "pypi": the --hg-version release
#               from PyPI, committed into a fresh repository (for machines
#               that reach PyPI but not mercurial-scm.org).
#
# Idempotent: every step checks first and says "ok" when nothing is to be
# done, so a second run changes nothing and takes seconds. Each step is
# logged as "bootstrap: STEP: what happened".
set -eu

PYENV_COMMIT=v2.5.0
DEFAULT_PYTHONS=3.9.21,3.10.16,3.11.11,3.12.8,3.13.1
HG_VERSION=7.2.4
SRC_URL=https://www.mercurial-scm.org/repo/hg

pythons=$DEFAULT_PYTHONS
hg_version=$HG_VERSION
src=$SRC_URL
authorized_key=""

log() { echo "bootstrap: $*"; }
die() { echo "bootstrap: error: $*" >&2; exit 1; }

while [ $# -gt 0 ]; do
    case "$1" in
    --pythons) [ $# -ge 2 ] || die "--pythons needs a value"; pythons=$2; shift 2 ;;
    --hg-version) [ $# -ge 2 ] || die "--hg-version needs a value"; hg_version=$2; shift 2 ;;
    --src) [ $# -ge 2 ] || die "--src needs a value"; src=$2; shift 2 ;;
    --authorized-key) [ $# -ge 2 ] || die "--authorized-key needs a value"; authorized_key=$2; shift 2 ;;
    *) die "unknown argument: $1 (see the header of this script)" ;;
    esac
done

[ "$(id -u)" = 0 ] || die "must run as root (sudo $0 …)"
case "$authorized_key" in
ssh-ed25519\ * | ecdsa-sha2-nistp*\ * | ssh-rsa\ *) ;;
*) die "--authorized-key must be one OpenSSH public key line (ssh-ed25519 AAAA…)" ;;
esac
case "$authorized_key" in
*"
"*) die "--authorized-key must be a single line" ;;
esac
case "$hg_version" in
*[!0-9.]* | "") die "--hg-version must look like 7.2.4, got '$hg_version'" ;;
esac
for version in $(echo "$pythons" | tr ',' ' '); do
    case "$version" in
    system) ;;
    *[!0-9a-z.-]* | "") die "--pythons: '$version' is neither 'system' nor a pyenv version like 3.12.8" ;;
    esac
done

# --- distribution -----------------------------------------------------------
[ -r /etc/os-release ] || die "/etc/os-release is missing: not a supported distribution"
# shellcheck disable=SC1091
. /etc/os-release
distro="${ID:-unknown}${VERSION_ID:-}"
case "$distro" in
debian12 | debian11 | ubuntu24.04 | ubuntu22.04) log "distribution: $distro" ;;
*) die "unsupported distribution '$distro' (supported: debian12, debian11, ubuntu24.04, ubuntu22.04)" ;;
esac

# Packages Mercurial's test suite and its build use: the original tool's list
# (contrib/automation/hgautomation/linux.py) brought up to date. Python 2,
# Docker and the per-release pins are gone; bzr is brz, pyflakes/pylint are
# the python3 ones.
PACKAGES="bash build-essential ca-certificates curl git gettext gnupg netbase
openssh-client rsync sqlite3 sudo unzip wget zip procps
python3 python3-dev python3-venv python3-pip python3-docutils python3-pygments
python3-setuptools python3-wheel pyflakes3 pylint
libbz2-dev libexpat1-dev libffi-dev libgdbm-dev liblzma-dev libncurses-dev
libreadline-dev libsqlite3-dev libssl-dev tk-dev uuid-dev zlib1g-dev
btrfs-progs e2fsprogs jfsutils xfsprogs nvme-cli util-linux kmod
subversion python3-subversion cvs darcs brz clang-format"
case "$distro" in
debian11) PACKAGES="$PACKAGES python3-distutils" ;;
ubuntu22.04) PACKAGES="$PACKAGES python3-distutils" ;;
esac

export DEBIAN_FRONTEND=noninteractive

# --- packages ---------------------------------------------------------------
missing=""
for pkg in $PACKAGES; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing="$missing $pkg"
done
if [ -n "$missing" ]; then
    log "packages: installing$missing"
    apt-get update -q
    # shellcheck disable=SC2086 # one word per package
    apt-get install -y -q --no-install-recommends $missing
else
    log "packages: ok (all $(echo "$PACKAGES" | wc -w) installed)"
fi

# --- user and group hg ------------------------------------------------------
if getent group hg >/dev/null; then
    log "group hg: ok"
else
    groupadd hg
    log "group hg: created"
fi
if getent passwd hg >/dev/null; then
    log "user hg: ok"
else
    useradd -g hg -G sudo -d /home/hg -m -s /bin/bash hg
    log "user hg: created"
fi
# '*' rather than useradd's locked '!': no password login, but sshd without
# PAM refuses locked accounts even for keys.
if [ "$(getent shadow hg | cut -d: -f2)" != "*" ]; then
    usermod -p '*' hg
    log "user hg: password field set to '*' (key login only)"
fi
if [ "$(getent passwd hg | cut -d: -f7)" != /bin/bash ]; then
    usermod -s /bin/bash hg
    log "user hg: shell set to /bin/bash"
fi
id -nG hg | tr ' ' '\n' | grep -qx sudo || { usermod -a -G sudo hg; log "user hg: added to group sudo"; }

sudoers=/etc/sudoers.d/90-hg
if [ "$(cat "$sudoers" 2>/dev/null || true)" = "hg ALL=(ALL) NOPASSWD:ALL" ]; then
    log "sudo: ok"
else
    echo "hg ALL=(ALL) NOPASSWD:ALL" > "$sudoers.tmp"
    chmod 0440 "$sudoers.tmp"
    visudo -cq -f "$sudoers.tmp" || die "visudo rejected $sudoers"
    mv "$sudoers.tmp" "$sudoers"
    log "sudo: $sudoers written"
fi

install -d -m 0700 -o hg -g hg /home/hg/.ssh
keys=/home/hg/.ssh/authorized_keys
if [ -f "$keys" ] && grep -qxF "$authorized_key" "$keys"; then
    log "ssh key: ok"
else
    echo "$authorized_key" >> "$keys"
    log "ssh key: authorised for hg"
fi
chown hg:hg "$keys"
chmod 0600 "$keys"

# --- /hgdev -----------------------------------------------------------------
if [ -d /hgdev ]; then
    log "/hgdev: ok"
else
    install -d -m 0755 -o hg -g hg /hgdev
    log "/hgdev: created"
fi
venv=/hgdev/venv-bootstrap
as_hg() { runuser -u hg -- env HOME=/home/hg "$@"; }
# pip reads the machine's own /etc/pip.conf (a proxy or CA bundle set there applies).
pip_q() { as_hg "$venv/bin/pip" --disable-pip-version-check -q "$@"; }

# --- Pythons ----------------------------------------------------------------
pyenv_versions=""
for version in $(echo "$pythons" | tr ',' ' '); do
    if [ "$version" = system ]; then
        log "python system: ok ($(/usr/bin/python3 --version 2>&1))"
    else
        pyenv_versions="$pyenv_versions $version"
    fi
done
if [ -n "$pyenv_versions" ]; then
    export PYENV_ROOT=/hgdev/pyenv
    if [ -x /hgdev/pyenv/bin/pyenv ] && [ "$(git -C /hgdev/pyenv describe --tags 2>/dev/null || true)" = "$PYENV_COMMIT" ]; then
        log "pyenv: ok ($PYENV_COMMIT)"
    else
        rm -rf /hgdev/pyenv
        as_hg git clone -q --branch "$PYENV_COMMIT" --depth 1 https://github.com/pyenv/pyenv.git /hgdev/pyenv \
            || die "cloning pyenv from github.com failed: pyenv Pythons need the internet (or use --pythons system)"
        log "pyenv: cloned $PYENV_COMMIT"
    fi
    for version in $pyenv_versions; do
        if [ -x "/hgdev/pyenv/versions/$version/bin/python" ]; then
            log "python $version: ok"
        else
            log "python $version: building with pyenv (downloads from python.org)"
            as_hg env PYENV_ROOT=/hgdev/pyenv /hgdev/pyenv/bin/pyenv install -s "$version"
            log "python $version: installed"
        fi
    done
    wanted="${pyenv_versions# } system"
    if [ "$(as_hg env PYENV_ROOT=/hgdev/pyenv /hgdev/pyenv/bin/pyenv global | tr '\n' ' ' | sed 's/ $//')" = "$wanted" ]; then
        log "pyenv global: ok ($wanted)"
    else
        # shellcheck disable=SC2086
        as_hg env PYENV_ROOT=/hgdev/pyenv /hgdev/pyenv/bin/pyenv global $wanted
        as_hg env PYENV_ROOT=/hgdev/pyenv /hgdev/pyenv/bin/pyenv rehash
        log "pyenv global: $wanted"
    fi
fi

# --- /hgdev/venv-bootstrap --------------------------------------------------
if [ -x "$venv/bin/python" ]; then
    log "venv-bootstrap: ok (a virtualenv)"
else
    as_hg /usr/bin/python3 -m venv "$venv"
    log "venv-bootstrap: created"
fi
# Debian 11's pip 20.3 cannot read today's pyproject.toml files (sdists of
# Mercurial and its build requirements).
pip_major=$(as_hg "$venv/bin/python" -c 'import pip; print(pip.__version__.split(".")[0])')
if [ "$pip_major" -ge 23 ]; then
    log "venv-bootstrap pip: ok (pip $pip_major)"
else
    pip_q install --upgrade "pip>=23"
    log "venv-bootstrap pip: upgraded from pip $pip_major"
fi
if [ -x "$venv/bin/hg" ] && [ "$(as_hg "$venv/bin/hg" version -T '{ver}' 2>/dev/null || true)" = "$hg_version" ]; then
    log "venv-bootstrap: ok (Mercurial $hg_version)"
else
    log "venv-bootstrap: installing Mercurial $hg_version from PyPI"
    pip_q install "mercurial==$hg_version"
    as_hg "$venv/bin/hg" version -T '{ver}\n' >/dev/null || die "$venv/bin/hg does not run"
    log "venv-bootstrap: Mercurial $hg_version installed"
fi
# Mercurial's `make local` builds with uv.
if [ -x "$venv/bin/uv" ]; then
    log "uv: ok"
else
    pip_q install uv
    log "uv: installed in $venv"
fi
if [ "$(readlink /usr/local/bin/uv 2>/dev/null || true)" = "$venv/bin/uv" ]; then
    log "uv on PATH: ok"
else
    ln -sfn "$venv/bin/uv" /usr/local/bin/uv
    log "uv on PATH: /usr/local/bin/uv"
fi

# --- /hgdev/src -------------------------------------------------------------
if [ -d /hgdev/src/.hg ]; then
    log "/hgdev/src: ok (a repository is there; its state is not ours to change)"
elif [ "$src" = pypi ]; then
    log "/hgdev/src: Mercurial $hg_version from PyPI into a new repository"
    work=$(as_hg mktemp -d /hgdev/.src-XXXXXX)
    pip_q download --no-deps --no-binary :all: "mercurial==$hg_version" -d "$work"
    as_hg tar xzf "$work/mercurial-$hg_version.tar.gz" -C "$work"
    as_hg "$venv/bin/hg" init "$work/mercurial-$hg_version"
    as_hg "$venv/bin/hg" -R "$work/mercurial-$hg_version" commit -q -A \
        -u "bootstrap <hg@localhost>" -m "Mercurial $hg_version from PyPI"
    mv "$work/mercurial-$hg_version" /hgdev/src
    rm -rf "$work"
    log "/hgdev/src: created"
else
    log "/hgdev/src: cloning $src"
    as_hg "$venv/bin/hg" clone -q "$src" /hgdev/src.partial || die "hg clone $src failed"
    mv /hgdev/src.partial /hgdev/src
    log "/hgdev/src: cloned"
fi
if grep -q '^publish = false' /hgdev/src/.hg/hgrc 2>/dev/null; then
    log "/hgdev/src phases: ok"
else
    printf '[phases]\npublish = false\n' >> /hgdev/src/.hg/hgrc
    chown hg:hg /hgdev/src/.hg/hgrc
    log "/hgdev/src phases: publish = false"
fi

# --- ownership --------------------------------------------------------------
if [ -z "$(find /hgdev \( ! -user hg -o ! -group hg \) -print -quit)" ]; then
    log "/hgdev ownership: ok"
else
    chown -R hg:hg /hgdev
    log "/hgdev ownership: set to hg:hg"
fi
log "done"
