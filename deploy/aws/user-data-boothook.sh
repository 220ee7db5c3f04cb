#cloud-boothook
#!/bin/sh
# hg-automation: install the SSH host key the controller generated for this
# instance, before sshd first starts, and enforce the instance's lifetime.
# Runs on every boot (cloud-init boothook); everything here is idempotent.
set -eu
EXPIRES_AT=@EXPIRES_EPOCH@
imds() {
    token=$(curl -sf -m 5 -X PUT -H 'X-aws-ec2-metadata-token-ttl-seconds: 300' http://169.254.169.254/latest/api/token)
    curl -sf -m 5 -H "X-aws-ec2-metadata-token: $token" "http://169.254.169.254/latest/meta-data/$1"
}
INDEX=$(imds ami-launch-index || echo 0)
case "$INDEX" in
@HOST_KEY_CASES@
*) echo "hg-automation: no host key for launch index $INDEX" >&2; KEY= ;;
esac
if [ -n "$KEY" ]; then
    umask 077
    rm -f /etc/ssh/ssh_host_*_key /etc/ssh/ssh_host_*_key.pub
    echo "$KEY" | base64 -d > /etc/ssh/ssh_host_ed25519_key
    echo "$PUB" > /etc/ssh/ssh_host_ed25519_key.pub
    chmod 600 /etc/ssh/ssh_host_ed25519_key
    chmod 644 /etc/ssh/ssh_host_ed25519_key.pub
    mkdir -p /etc/ssh/sshd_config.d
    echo "HostKey /etc/ssh/ssh_host_ed25519_key" > /etc/ssh/sshd_config.d/00-hg-automation-hostkey.conf
fi
# A controller that vanished without closing its connection (its laptop
# asleep, its network gone) is dropped after a minute of unanswered SSH
# keepalives: its agent sessions end, so the agent's idle power-off follows.
mkdir -p /etc/ssh/sshd_config.d
printf 'ClientAliveInterval 15\nClientAliveCountMax 4\n' > /etc/ssh/sshd_config.d/00-hg-automation-alive.conf
# Lifetime: with InstanceInitiatedShutdownBehavior=terminate, powering off terminates.
NOW=$(date +%s)
if [ "$NOW" -ge "$EXPIRES_AT" ]; then
    systemctl --no-block poweroff || poweroff
else
    systemd-run --unit=hg-automation-expiry --on-active=$((EXPIRES_AT - NOW)) /bin/systemctl poweroff 2>/dev/null \
        || (sleep $((EXPIRES_AT - NOW)) && poweroff) &
fi
