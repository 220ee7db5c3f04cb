/// `~/.cache/automation/agent-<sha256>.state` on an SSH host: the running
/// agent's announcement line (`{"port":…,"token":…,"pid":…,"version":…}`),
/// mode 0600, so later invocations by the same user attach to that agent
/// instead of starting another. One agent per host, user and agent hash.
///
/// A state file can outlive its agent (killed, host rebooted): the pid is
/// checked before attaching, and a hello that fails (pid reused, token
/// refused) falls back to starting a fresh agent, which replaces the file.
enum AgentStateFile {
    /// The second output line of the start command when it attached rather than started.
    static let attachedMarker = "attached"

    /// The state file beside the agent binary at `agentPath` (relative to the home directory).
    static func path(agentPath: String) -> String { agentPath + ".state" }

    /// One remote shell command: print the live agent's state line (then
    /// `attached`), or check the binary's SHA-256 (exit `mismatchStatus` when
    /// it is not `digest`, 96 when the host cannot hash), start the agent
    /// detached, record its line in the state file (umask 077, written to a
    /// temporary name and renamed) and print it. `agentPath` and `digest` are
    /// hex under a fixed directory and `idleTimeout` a number: nothing
    /// user-controlled reaches the shell. `powerOffWhenIdle` adds
    /// `--poweroff-when-idle`, with the agent's stderr (what it did when idle)
    /// appended to `agent-<sha256>.log` beside the state file.
    static func startCommand(agentPath: String, digest: String, mismatchStatus: Int32, idleTimeout: Int,
                             powerOffWhenIdle: Bool = false, attach: Bool) -> String {
        let state = path(agentPath: agentPath)
        var script = "cd \"$HOME\" || exit 1; s=\(state); "
        if attach {
            script += #"if [ -f "$s" ]; then l=$(cat "$s"); p=${l#*\"pid\":}; p=${p%%[!0-9]*}; "#
            script += #"if [ -n "$p" ] && kill -0 "$p" 2>/dev/null; then printf '%s\n'"#
            script += " \"$l\" \(attachedMarker); exit 0; fi; fi; "
        }
        script += "f=\"$HOME\"/\(agentPath); h=$(sha256sum \"$f\" 2>/dev/null || shasum -a 256 \"$f\" 2>/dev/null) || "
        script += "{ echo \"automation: cannot compute the SHA-256 of $f (no sha256sum or shasum on this host)\" >&2; exit 96; }; "
        script += "[ \"${h%% *}\" = \"\(digest)\" ] || { echo \"automation: $f does not match its SHA-256\" >&2; exit \(mismatchStatus); }; "
        script += "umask 077; \"$HOME\"/\(agentPath) serve --listen 127.0.0.1:0 --idle-timeout \(idleTimeout) --detach"
        if powerOffWhenIdle { script += " --poweroff-when-idle --log \"${s%.state}.log\"" }
        script += " > \"$s.$$\" "
        script += "|| { r=$?; rm -f \"$s.$$\"; exit $r; }; mv -f \"$s.$$\" \"$s\" && cat \"$s\""
        return script
    }

    /// Lists every agent state file of this user with whether its pid is alive:
    /// one line each, `<file> running|gone <state line>`.
    static let listCommand = #"cd "$HOME/.cache/automation" 2>/dev/null || exit 0; for s in agent-*.state; do [ -f "$s" ] || continue; l=$(cat "$s"); p=${l#*\"pid\":}; p=${p%%[!0-9]*}; if [ -n "$p" ] && kill -0 "$p" 2>/dev/null; then a=running; else a=gone; fi; printf '%s %s %s\n' "$s" "$a" "$l"; done"#

    /// Removes one state file, named by its agent's hash (hex only).
    static func removeCommand(hash: String) -> String? {
        guard !hash.isEmpty, hash.allSatisfy({ $0.isHexDigit }) else { return nil }
        return "rm -f \"$HOME\"/.cache/automation/agent-\(hash).state"
    }
}
