import Foundation

/// Cloud-init user data that pins each instance's SSH host key and enforces its lifetime.
///
/// One RunInstances call launches many instances with one user data, so it carries one host key
/// per launch index and each instance picks its own from the metadata service. The templates are
/// copies of deploy/aws/user-data-boothook.sh and user-data-cloud-config.yaml (a test keeps them equal).
public enum UserData {
    /// EC2 accepts at most 16 KiB of user data; each key adds about 700 bytes.
    public static let maxHostKeys = 16

    static let boothookTemplate = #"""
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

    """#

    static let cloudConfig = #"""
    #cloud-config
    # hg-automation: keep the host key installed by the boothook instead of generating new ones.
    ssh_deletekeys: false
    ssh_genkeytypes: []

    """#

    /// The boothook script with keys and expiry filled in: the key of index i goes to the
    /// instance of launch index i.
    public static func boothook(hostKeys: [Ed25519KeyPair], expiresAt: Date) -> String {
        boothook(cases: hostKeys.enumerated().map { index, key in hostKeyCase(String(index), key) }, expiresAt: expiresAt)
    }

    /// The boothook script that installs `hostKey` whatever the launch index: a fleet launches
    /// its instances as separate requests, each with launch index 0 (docs/aws.md, "Host keys").
    public static func boothook(sharedHostKey hostKey: Ed25519KeyPair, expiresAt: Date) -> String {
        boothook(cases: [hostKeyCase("*", hostKey)], expiresAt: expiresAt)
    }

    static func hostKeyCase(_ pattern: String, _ key: Ed25519KeyPair) -> String {
        let privateKey = Data(key.openSSHPrivateKey(comment: "hg-automation-host").utf8).base64EncodedString()
        return "\(pattern)) KEY='\(privateKey)'; PUB='\(key.openSSHPublicKey())' ;;"
    }

    static func boothook(cases: [String], expiresAt: Date) -> String {
        boothookTemplate
            .replacingOccurrences(of: "@EXPIRES_EPOCH@", with: String(Int(expiresAt.timeIntervalSince1970)))
            .replacingOccurrences(of: "@HOST_KEY_CASES@", with: cases.joined(separator: "\n"))
    }

    /// A MIME multipart document with the boothook (one key per launch index) and the cloud-config part.
    public static func render(hostKeys: [Ed25519KeyPair], expiresAt: Date) throws -> String {
        guard hostKeys.count <= maxHostKeys else {
            throw AutomationAWSError("at most \(maxHostKeys) instances fit in one user data document")
        }
        return try document(boothook: boothook(hostKeys: hostKeys, expiresAt: expiresAt))
    }

    /// The same document with one host key for every instance that boots with it (fleets).
    public static func render(sharedHostKey: Ed25519KeyPair, expiresAt: Date) throws -> String {
        try document(boothook: boothook(sharedHostKey: sharedHostKey, expiresAt: expiresAt))
    }

    static func document(boothook: String) throws -> String {
        let boundary = "==hg-automation-\(UUID().uuidString)=="
        let parts = [("text/cloud-boothook", boothook), ("text/cloud-config", cloudConfig)]
        var text = "Content-Type: multipart/mixed; boundary=\"\(boundary)\"\nMIME-Version: 1.0\n\n"
        for (type, body) in parts {
            text += "--\(boundary)\nContent-Type: \(type); charset=\"us-ascii\"\nMIME-Version: 1.0\nContent-Transfer-Encoding: 7bit\n\n\(body)\n"
        }
        text += "--\(boundary)--\n"
        guard text.utf8.count <= 16 * 1024 else { throw AutomationAWSError("user data is \(text.utf8.count) bytes; EC2 allows 16384") }
        return text
    }
}
