#!/usr/bin/env python3
"""How long a tokenless connection flood on an SSH host delays a new
`automation exec` session (issue 21). Prints a Markdown table.

Usage (as root, after `swift build` and deploy/build-agent.sh):
    Benchmarks/faults/flood-bench.py [--automation .build/debug/automation]
        [--agent .build-static/automation-agent] [--rounds 3]

Setting: a private loopback sshd (deploy/testhost/sshd.sh) and an agent of
its own hash, started by a first exec. For each flood length F, a thread
holds 80 tokenless connections to the agent's port (every one of its 64
pre-hello slots, reopening each the agent closes at its 10 s hello
deadline); `automation exec -- true` starts at once, and the flood stops F
seconds later. "wall" is the exec's wall time, "after flood" what it took
once the flood ended (wall - F), the cost of waiting rather than the flood
itself; "agents" how many agents of this hash ran afterwards (1 = the live
one was kept, its state file untouched).
"""
import argparse
import json
import os
import pwd
import shutil
import signal
import socket
import statistics
import subprocess
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def parse_args():
    p = argparse.ArgumentParser()
    p.add_argument("--automation", default=os.path.join(ROOT, ".build/debug/automation"))
    p.add_argument("--agent", default=os.path.join(ROOT, ".build-static/automation-agent"))
    p.add_argument("--rounds", type=int, default=3)
    return p.parse_args()


class Flood:
    def __init__(self, port, connections=80):
        self.port, self.connections = port, connections
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self.run)
        self.thread.start()

    def run(self):
        socks = []
        while not self.stopped.is_set():
            alive = []
            for s in socks:
                try:
                    data = s.recv(1, socket.MSG_DONTWAIT | socket.MSG_PEEK)
                    s.close()  # EOF or the busy line: the agent is closing it
                except BlockingIOError:
                    alive.append(s)
                except OSError:
                    s.close()
            socks = alive
            while len(socks) < self.connections:
                try:
                    socks.append(socket.create_connection(("127.0.0.1", self.port)))
                except OSError:
                    break
            time.sleep(0.005)
        for s in socks:
            s.close()

    def stop(self):
        self.stopped.set()
        self.thread.join()


def main():
    args = parse_args()
    work = tempfile.mkdtemp(prefix="flood-bench-")
    os.chmod(work, 0o755)
    out = subprocess.run([os.path.join(ROOT, "deploy/testhost/sshd.sh"), "start", work + "/sshd"],
                         check=True, capture_output=True, text=True).stdout
    fields = dict(w.split("=", 1) for w in out.split() if "=" in w)
    port, user = int(fields["port"]), fields["user"]
    fingerprint = subprocess.run(["ssh-keygen", "-l", "-E", "sha256", "-f", work + "/sshd/ssh_host_ed25519_key.pub"],
                                 check=True, capture_output=True, text=True).stdout.split()[1]
    agent = os.path.join(work, "automation-agent")
    with open(args.agent, "rb") as src, open(agent, "wb") as dst:
        dst.write(src.read() + b"flood-bench %d" % os.getpid())
    os.chmod(agent, 0o755)
    digest = subprocess.run(["sha256sum", agent], check=True, capture_output=True, text=True).stdout[:64]
    home = pwd.getpwnam(user).pw_dir
    state_file = "%s/.cache/automation/agent-%s.state" % (home, digest)
    env = dict(os.environ, AUTOMATION_STATE=work + "/state", AUTOMATION_AGENT_BINARY=agent)
    command = [args.automation, "exec", "--target", "ssh://%s@127.0.0.1:%d" % (user, port), "--identity",
               work + "/sshd/id_ed25519", "--host-key", fingerprint, "--agent-binary", agent, "--", "true"]

    def agents():
        found = []
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    with open("/proc/%s/cmdline" % entry, "rb") as f:
                        if ("agent-" + digest).encode() in f.read():
                            found.append(int(entry))
                except OSError:
                    pass
        return found

    def timed_exec(flood_seconds, agent_port):
        flood = Flood(agent_port) if flood_seconds is not None else None
        if flood:
            time.sleep(1)  # the slots fill
        start = time.monotonic()
        process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        if flood:
            time.sleep(flood_seconds)
            flood.stop()
        stderr = process.communicate()[1]
        wall = time.monotonic() - start
        if process.returncode != 0:
            raise SystemExit("exec failed (%d): %s" % (process.returncode, stderr))
        return wall

    try:
        subprocess.run(command, env=env, check=True, capture_output=True)
        with open(state_file) as f:
            recorded = f.read()
        agent_port = json.loads(recorded)["port"]
        rows = []
        for flood_seconds in (None, 0, 2, 5, 15):
            walls = [timed_exec(flood_seconds, agent_port) for _ in range(args.rounds)]
            with open(state_file) as f:
                same = f.read() == recorded
            rows.append((flood_seconds, walls, len(agents()), same))
        print("| flood | exec wall (median of %d) | after the flood ended | agents | state file |" % args.rounds)
        print("|---|---|---|---|---|")
        for flood_seconds, walls, count, same in rows:
            median = statistics.median(walls)
            name = "none" if flood_seconds is None else "%g s" % flood_seconds
            after = "—" if flood_seconds is None else "%.2f s" % (median - flood_seconds)
            print("| %s | %.2f s | %s | %d | %s |" % (name, median, after, count, "unchanged" if same else "REPLACED"))
    finally:
        for pid in agents():
            os.kill(pid, signal.SIGKILL)
        subprocess.run([os.path.join(ROOT, "deploy/testhost/sshd.sh"), "stop", work + "/sshd"], capture_output=True)
        for suffix in ("", ".state"):
            try:
                os.remove("%s/.cache/automation/agent-%s%s" % (home, digest, suffix))
            except OSError:
                pass
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
