#!/usr/bin/env python3
"""Measures what each fault costs a run-tests run: time to detect, time to
recover, results lost and duplicated. Prints a Markdown table.

Usage (as root, after `swift build` and deploy/build-agent.sh):
    Benchmarks/faults/fault-bench.py [--automation .build/debug/automation]
        [--agent .build-static/automation-agent] [--lost-after 30] [--tests 24]

Setting: `local:1` plus one SSH slot on a private loopback sshd
(deploy/testhost/sshd.sh) reached through deploy/testhost/tcp-fault-proxy.py;
a suite of N tests of 0.5 s each. Every fault is injected once the SSH slot
has reported two results. "detect" is from the injection to the
controller's message naming the loss (or, for Ctrl-C, to the process exit;
for a killed connection, which is resumed, to the "reconnected" message);
"recover" is from the heal to the SSH slot's next result (partition, killed
connection: the reconnect itself is "resume" as the controller measured it)
or from detection to the end of the run (a lost host: its work moves to the
local slot). lost = tests with no final result; duplicated = tests that
passed more than once; re-run = tests with a second attempt.
"""
import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def parse_args():
    p = argparse.ArgumentParser()
    p.add_argument("--automation", default=os.path.join(ROOT, ".build/debug/automation"))
    p.add_argument("--agent", default=os.path.join(ROOT, ".build-static/automation-agent"))
    p.add_argument("--lost-after", type=float, default=30)
    p.add_argument("--tests", type=int, default=24)
    p.add_argument("--only", default="")
    return p.parse_args()


class Rig:
    def __init__(self, args):
        self.args = args
        self.dir = tempfile.mkdtemp(prefix="fault-bench-")
        os.chmod(self.dir, 0o755)
        out = subprocess.run([os.path.join(ROOT, "deploy/testhost/sshd.sh"), "start", self.dir + "/sshd"],
                             check=True, capture_output=True, text=True).stdout
        fields = dict(w.split("=", 1) for w in out.split() if "=" in w)
        self.sshd_port, self.user, self.sshd_pid = int(fields["port"]), fields["user"], int(fields["pid"])
        keygen = subprocess.run(["ssh-keygen", "-l", "-E", "sha256", "-f", self.dir + "/sshd/ssh_host_ed25519_key.pub"],
                                check=True, capture_output=True, text=True).stdout
        self.fingerprint = keygen.split()[1]
        self.proxy = subprocess.Popen([sys.executable, os.path.join(ROOT, "deploy/testhost/tcp-fault-proxy.py"), "127.0.0.1", str(self.sshd_port)],
                                      stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)
        self.proxy_port = int(self.proxy.stdout.readline().split()[1])
        # An agent of our own hash: we find (and kill) only our agents.
        self.agent = os.path.join(self.dir, "automation-agent")
        with open(args.agent, "rb") as src, open(self.agent, "wb") as dst:
            dst.write(src.read() + b"fault-bench %d" % os.getpid())
        os.chmod(self.agent, 0o755)
        self.agent_hash = subprocess.run(["sha256sum", self.agent], check=True, capture_output=True, text=True).stdout[:64]
        suite = os.path.join(self.dir, "suite")
        os.makedirs(suite)
        with open(suite + "/list", "w") as f:
            f.write("#!/bin/sh\n" + "".join("echo t%02d\n" % i for i in range(args.tests)))
        with open(suite + "/test", "w") as f:
            f.write("#!/bin/sh\nsleep 0.5\n")
        for name in ("list", "test"):
            os.chmod(os.path.join(suite, name), 0o755)
        self.suite = suite

    def proxy_send(self, command):
        self.proxy.stdin.write(command + "\n")
        assert self.proxy.stdout.readline().strip() == "OK " + command

    def agent_pids(self):
        pids = []
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    with open("/proc/%s/cmdline" % entry, "rb") as f:
                        if ("agent-" + self.agent_hash).encode() in f.read():
                            pids.append(int(entry))
                except OSError:
                    pass
        return pids

    def sshd_children(self):
        found, frontier = [], [self.sshd_pid]
        while frontier:
            parent = frontier.pop()
            out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(parent)], capture_output=True, text=True).stdout.split()
            children = [int(p) for p in out]
            found += children
            frontier += children
        return found

    def start(self, name):
        state = os.path.join(self.dir, "state-" + name)
        self.json = os.path.join(self.dir, name + ".jsonl")
        self.stdout = open(os.path.join(self.dir, name + ".out"), "w+")
        self.stderr = open(os.path.join(self.dir, name + ".err"), "w+")
        env = dict(os.environ, AUTOMATION_STATE=state, AUTOMATION_AGENT_BINARY=self.agent)
        argv = [self.args.automation, "run-tests", "--runner", "command", "--project", "bench",
                "--list-command", self.suite + "/list", "--test-command", self.suite + "/test {test}",
                "--target", "local:1", "--target", "ssh://%s@127.0.0.1:%d/1" % (self.user, self.proxy_port),
                "--identity", self.dir + "/sshd/id_ed25519", "--host-key", self.fingerprint,
                "--agent-binary", self.agent, "--agent-idle-timeout", "60", "--workdir", "/tmp",
                "--lost-after", str(self.args.lost_after), "--json-report", self.json]
        self.started = time.monotonic()
        self.process = subprocess.Popen(argv, env=env, stdout=self.stdout, stderr=self.stderr)

    def text(self, handle):
        handle.flush()
        with open(handle.name) as f:
            return f.read()

    def remote_results(self):
        return self.text(self.stdout).count("[127.0.0.1#")

    def wait_until(self, predicate, bound=600):
        deadline = time.monotonic() + bound
        while time.monotonic() < deadline and self.process.poll() is None and not predicate():
            time.sleep(0.01)
        return time.monotonic()

    def finish(self):
        try:
            self.process.wait(timeout=600)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        ended = time.monotonic()
        events = []
        if os.path.exists(self.json):
            with open(self.json) as f:
                events = [json.loads(line) for line in f if line.strip()]
        finals = {e["test"] for e in events if e["status"] in ("pass", "fail", "notrun", "error", "skip", "timeout") and not (e["status"] == "fail" and e.get("infrastructure"))}
        passes = {}
        for e in events:
            if e["status"] == "pass":
                passes[e["test"]] = passes.get(e["test"], 0) + 1
        lost = self.args.tests - len(finals)
        duplicated = sum(1 for count in passes.values() if count > 1)
        notrun = sum(1 for e in events if e["status"] == "notrun")
        self.rerun = len({e["test"] for e in events if e.get("attempt", 1) > 1})
        for pid in self.agent_pids():
            os.kill(pid, signal.SIGCONT)
        return ended, lost, duplicated, notrun, self.process.returncode

    def close(self):
        for pid in self.sshd_children():
            try:
                os.kill(pid, signal.SIGCONT)
            except OSError:
                pass
        for pid in self.agent_pids():
            os.kill(pid, signal.SIGKILL)
        self.proxy.stdin.close()
        self.proxy.wait()
        subprocess.run([os.path.join(ROOT, "deploy/testhost/sshd.sh"), "stop", self.dir + "/sshd"])
        runs = os.path.join(self.dir, "state-")
        for name in os.listdir(self.dir):
            if name.startswith("state-") and os.path.isdir(os.path.join(self.dir, name, "runs/bench")):
                for run_id in os.listdir(os.path.join(self.dir, name, "runs/bench")):
                    shutil.rmtree("/tmp/automation-run-%s-t1" % run_id, ignore_errors=True)
        shutil.rmtree(self.dir, ignore_errors=True)


def run_fault(rig, name):
    rig.start(name)
    rig.wait_until(lambda: rig.remote_results() >= 2)
    injected = time.monotonic()
    detect = recover = None
    lost_marker = lambda: "lost" in rig.text(rig.stderr)
    if name == "none":
        pass
    elif name == "partition 10 s":
        rig.proxy_send("pause")
        time.sleep(10)
        rig.proxy_send("resume")
        healed = time.monotonic()
        before = rig.remote_results()
        recover = rig.wait_until(lambda: rig.remote_results() > before) - healed
    elif name == "connection killed":
        before = rig.remote_results()
        rig.proxy_send("kill")
        resumed = rig.wait_until(lambda: "reconnected" in rig.text(rig.stderr))
        detect = resumed - injected
        recover = rig.wait_until(lambda: rig.remote_results() > before) - resumed
    elif name in ("sshd SIGSTOP", "agent SIGSTOP", "agent SIGKILL"):
        if name == "sshd SIGSTOP":
            for pid in rig.sshd_children():
                os.kill(pid, signal.SIGSTOP)
        elif name == "agent SIGSTOP":
            for pid in rig.agent_pids():
                os.kill(pid, signal.SIGSTOP)
        else:
            for pid in rig.agent_pids():
                os.kill(pid, signal.SIGKILL)
        detected = rig.wait_until(lost_marker)
        detect = detected - injected
    elif name in ("Ctrl-C", "Ctrl-C twice"):
        rig.process.send_signal(signal.SIGINT)
        if name == "Ctrl-C twice":
            time.sleep(0.05)
            rig.process.send_signal(signal.SIGINT)
    ended, lost, duplicated, notrun, status = rig.finish()
    if name.startswith("Ctrl-C"):
        detect = ended - injected
    elif detect is not None and recover is None:
        recover = ended - (injected + detect)
    said = [l for l in rig.text(rig.stderr).splitlines() if "reconnected" in l]
    for pid in rig.sshd_children():
        os.kill(pid, signal.SIGCONT)
    return dict(fault=name, status=status, detect=detect, recover=recover, lost=lost, duplicated=duplicated,
                notrun=notrun, rerun=rig.rerun, total=ended - rig.started, said=said)


def main():
    args = parse_args()
    faults = ["none", "partition 10 s", "connection killed", "agent SIGKILL", "agent SIGSTOP", "sshd SIGSTOP", "Ctrl-C", "Ctrl-C twice"]
    if args.only:
        faults = [f for f in faults if f in args.only.split(",")]
    rows = []
    for fault in faults:
        rig = Rig(args)
        try:
            rows.append(run_fault(rig, fault))
        finally:
            rig.close()
        print("done: %s" % rows[-1], file=sys.stderr, flush=True)
    fmt = lambda v: "—" if v is None else "%.2f s" % v
    print("| fault | exit | detect | recover | results lost | duplicated | re-run | not run | run total |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print("| %s | %d | %s | %s | %d | %d | %d | %d | %.1f s |" % (r["fault"], r["status"], fmt(r["detect"]), fmt(r["recover"]),
                                                             r["lost"], r["duplicated"], r["rerun"], r["notrun"], r["total"]))
    for r in rows:
        for line in r["said"]:
            print("%s: %s" % (r["fault"], line))


if __name__ == "__main__":
    main()
