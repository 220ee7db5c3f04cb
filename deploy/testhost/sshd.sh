#!/bin/sh
# Test-host fixture: a private OpenSSH sshd on loopback for integration tests
# and benchmarks. It never touches the machine's own sshd config or ~/.ssh:
# config, host keys, client key and authorized_keys all live in DIR.
#
#   sshd.sh start DIR [LOGLEVEL] [LISTEN_ADDRESS]   -> prints "port=N pid=P user=U"
#   sshd.sh stop DIR                                  -> stops that sshd by its pid
#
# Needs root (sshd privilege separation, creating the test user). The test
# user (default automation-test, override with AUTOMATION_TEST_USER) is
# created with /bin/sh as its shell when missing, so that each SSH exec does
# not pay for a heavy login shell.
set -eu

cmd=${1:?usage: sshd.sh start|stop DIR}
dir=${2:?usage: sshd.sh start|stop DIR}
user=${AUTOMATION_TEST_USER:-automation-test}
sshd=${SSHD:-/usr/sbin/sshd}

stop() {
    [ -f "$dir/sshd.pid" ] || return 0
    pid=$(cat "$dir/sshd.pid")
    # Per-connection children outlive the listener; end them too (by pid).
    children=$(ps -o pid= --ppid "$pid" 2>/dev/null || true)
    kill "$pid" 2>/dev/null || true
    for child in $children; do kill "$child" 2>/dev/null || true; done
    rm -f "$dir/sshd.pid"
}

case "$cmd" in
stop)
    stop
    exit 0
    ;;
start) ;;
*)
    echo "usage: sshd.sh start|stop DIR" >&2
    exit 2
    ;;
esac

[ "$(id -u)" = 0 ] || { echo "sshd.sh: must run as root (sshd privilege separation)" >&2; exit 1; }
[ -x "$sshd" ] || { echo "sshd.sh: $sshd not found; apt-get install openssh-server" >&2; exit 1; }
command -v ssh-keygen >/dev/null || { echo "sshd.sh: ssh-keygen not found; apt-get install openssh-client" >&2; exit 1; }

# Test suites start fixtures in parallel: the user is made under a lock, so
# two first starts cannot race useradd (a home left owned by a uid that the
# losing useradd freed again broke every later fixture).
(
    flock 9
    if ! getent passwd "$user" >/dev/null; then
        useradd --create-home --shell /bin/sh "$user"
    fi
    # '*' instead of useradd's locked '!': sshd without PAM refuses locked accounts.
    usermod --password '*' "$user"
    home=$(getent passwd "$user" | cut -d: -f6)
    [ -d "$home" ] || mkdir -p "$home"
    [ "$(stat -c %u "$home")" = "$(id -u "$user")" ] || chown -R "$user:" "$home"
) 9>/run/automation-testhost-user.lock
home=$(getent passwd "$user" | cut -d: -f6)
# The privilege separation directory is normally made by the sshd service.
[ -d /run/sshd ] || { mkdir -p /run/sshd; chmod 755 /run/sshd; }

mkdir -p "$dir"
chmod 755 "$dir"
[ -f "$dir/ssh_host_ed25519_key" ] || ssh-keygen -q -t ed25519 -N '' -C fixture-host -f "$dir/ssh_host_ed25519_key"
[ -f "$dir/ssh_host_ecdsa_key" ] || ssh-keygen -q -t ecdsa -b 256 -N '' -C fixture-host -f "$dir/ssh_host_ecdsa_key"
[ -f "$dir/id_ed25519" ] || ssh-keygen -q -t ed25519 -N '' -C fixture-client -f "$dir/id_ed25519"
[ -f "$dir/id_ecdsa" ] || ssh-keygen -q -t ecdsa -b 256 -N '' -C fixture-client-ecdsa -f "$dir/id_ecdsa"
# An RSA key that is authorized, to show the explained refusal is ours, not the server's.
[ -f "$dir/id_rsa" ] || ssh-keygen -q -t rsa -b 2048 -N '' -C fixture-client-rsa -f "$dir/id_rsa"
# A key that is not authorized.
[ -f "$dir/id_stranger" ] || ssh-keygen -q -t ed25519 -N '' -C stranger -f "$dir/id_stranger"
cat "$dir/id_ed25519.pub" "$dir/id_ecdsa.pub" "$dir/id_rsa.pub" > "$dir/authorized_keys"
# sshd reads authorized_keys as the user.
chmod 644 "$dir/authorized_keys"

loglevel=${3:-DEBUG1}
address=${4:-127.0.0.1}
attempt=0
while :; do
    attempt=$((attempt + 1))
    port=$((20000 + $(od -An -N2 -tu2 /dev/urandom | tr -d ' ') % 40000))
    cat > "$dir/sshd_config" <<CONFIG
Port $port
ListenAddress $address
HostKey $dir/ssh_host_ed25519_key
HostKey $dir/ssh_host_ecdsa_key
PidFile none
AuthorizedKeysFile $dir/authorized_keys
StrictModes no
UsePAM no
PasswordAuthentication no
KbdInteractiveAuthentication no
PubkeyAuthentication yes
PermitRootLogin no
AllowUsers $user
AllowTcpForwarding yes
AllowStreamLocalForwarding no
X11Forwarding no
PrintMotd no
PrintLastLog no
UseDNS no
MaxSessions 100
MaxStartups 100:30:200
LogLevel $loglevel
Subsystem sftp internal-sftp
CONFIG
    : > "$dir/sshd.log"
    "$sshd" -D -f "$dir/sshd_config" -E "$dir/sshd.log" </dev/null >/dev/null 2>&1 &
    pid=$!
    echo "$pid" > "$dir/sshd.pid"
    i=0
    while [ $i -lt 100 ]; do
        if grep -q "Server listening on" "$dir/sshd.log" 2>/dev/null; then
            echo "$port" > "$dir/port"
            echo "$user" > "$dir/user"
            echo "port=$port pid=$pid user=$user"
            exit 0
        fi
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.05
        i=$((i + 1))
    done
    stop
    if [ $attempt -ge 5 ]; then
        echo "sshd.sh: sshd did not start; log:" >&2
        cat "$dir/sshd.log" >&2
        exit 1
    fi
done
