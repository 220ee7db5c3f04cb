#!/usr/bin/env python3
"""Scheduling benchmarks for `automation run-tests` (docs/benchmarks.md, "Scheduling").

Prints markdown tables:
  1. simulated makespan / lower bound against run-tests.py's static split
     (the real Scheduling code, Benchmarks/scheduling/Package.swift);
  2. real runs on this machine, same suites and slot counts:
     the sample suite (command runner) against a static round-robin split,
     a generated skewed pytest suite against pytest-xdist -n N,
     optionally a Mercurial subset against run-tests.py --shard-total N;
  3. per-test result latency (test end on the runner -> controller event).

Usage: python3 Benchmarks/scheduling/bench.py [--automation .build/release/automation]
       [--slots 4] [--mercurial /path/to/hg/source --run-as hg --hg-python /usr/bin/python3]
"""
import argparse
import datetime
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def iso(text):
    return datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc).timestamp()


def run_automation(args, automation, state, env=None):
    """Runs automation run-tests; returns (wall seconds, makespan, lower bound, events)."""
    events = os.path.join(state, "last.jsonl")
    full_env = dict(os.environ, AUTOMATION_STATE=state, **(env or {}))
    start = time.monotonic()
    proc = subprocess.run([automation, "run-tests", "--json-report", events] + args, cwd=ROOT, env=full_env,
                          capture_output=True, text=True)
    wall = time.monotonic() - start
    match = re.search(r"^makespan ([0-9.]+)s, lower bound ([0-9.]+)s$", proc.stdout, re.M)
    if proc.returncode not in (0, 1) or not match:
        sys.exit("automation failed (%d):\n%s\n%s" % (proc.returncode, proc.stdout[-3000:], proc.stderr[-3000:]))
    with open(events) as fh:
        parsed = [json.loads(line) for line in fh if line.strip()]
    return wall, float(match.group(1)), float(match.group(2)), parsed


def parallel_wall(commands, cwd, env=None):
    """Starts every command at once; returns the wall time until the last ends."""
    start = time.monotonic()
    procs = [subprocess.Popen(c, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for c in commands]
    for p in procs:
        p.wait()
    return time.monotonic() - start


def latency(events):
    values = sorted((iso(e["reported"]) - iso(e["end"])) * 1000 for e in events if "reported" in e)
    if not values:
        return None
    p99 = values[min(len(values) - 1, int(round(0.99 * (len(values) - 1))))]
    return len(values), statistics.median(values), p99, values[-1]


def simulation():
    print("## 1. Simulated makespan (known durations; run-tests.py start-up 1 s per batch)\n")
    proc = subprocess.run(["swift", "run", "-c", "release", "--package-path", os.path.join(ROOT, "Benchmarks/scheduling"),
                           "--scratch-path", os.path.join(ROOT, ".build-bench"), "SchedulingBench"],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit("simulation failed:\n" + proc.stderr[-3000:])
    print(proc.stdout)


def sample_suite(automation, slots, state):
    suite = "examples/sample-suite"
    args = ["--runner", "command", "--target", "local:%d" % slots, "--list-command", suite + "/list-tests",
            "--test-command", suite + "/run-test {test}"]
    run_automation(args, automation, state)  # records durations
    wall, makespan, lb, events = run_automation(args, automation, state)
    names = sorted(subprocess.run([suite + "/list-tests"], cwd=ROOT, capture_output=True, text=True).stdout.split())
    shards = [names[i::slots] for i in range(slots)]
    static = parallel_wall([["sh", "-c", 'for t in "$@"; do ' + suite + '/run-test "$t" >/dev/null; done', "_"] + s for s in shards], ROOT)
    return ("sample suite (command, %d tests)" % len(names), slots, lb, makespan, wall, "static round-robin split", static), events


SKEWED_PYTEST = '''
import time, pytest
LONG = {%s}
@pytest.mark.parametrize("i", range(%d))
def test_case(i):
    time.sleep(LONG.get(i, 0.02 + (i %% 7) * 0.02))
'''


def pytest_suite(automation, slots, state, work):
    # A skewed suite: four long tests among many short ones, long ones late in file order.
    count = 160
    long = {150: 4.0, 151: 3.5, 152: 3.0, 153: 2.5}
    path = os.path.join(work, "skewed")
    os.makedirs(os.path.join(path, "tests"), exist_ok=True)
    with open(os.path.join(path, "tests", "test_skewed.py"), "w") as fh:
        fh.write(SKEWED_PYTEST % (", ".join("%d: %s" % kv for kv in long.items()), count))
    args = ["--runner", "pytest", "--target", "local:%d" % slots, "--workdir", path, "--project", "bench-skewed", "--", "tests"]
    run_automation(args, automation, state)
    wall, makespan, lb, events = run_automation(args, automation, state)
    start = time.monotonic()
    xdist = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", str(slots), "tests"],
                           cwd=path, capture_output=True, text=True)
    xdist_wall = time.monotonic() - start
    if xdist.returncode != 0:
        sys.exit("pytest-xdist failed (pip install pytest-xdist):\n" + xdist.stdout[-2000:] + xdist.stderr[-2000:])
    return ("skewed pytest suite (%d tests)" % count, slots, lb, makespan, wall, "pytest-xdist -n %d" % slots, xdist_wall), events


def mercurial(automation, slots, state, source, run_as, python, tests):
    common = ["--runner", "mercurial", "--target", "local:%d" % slots, "--workdir", source, "--python", python]
    if run_as:
        common += ["--run-as", run_as]
    args = common + ["--"] + tests
    run_automation(args, automation, state)  # builds if needed, records durations
    wall, makespan, lb, events = run_automation(args, automation, state)
    out = tempfile.mkdtemp(prefix="hgshard-")
    os.chmod(out, 0o777)
    cmds = []
    for i in range(1, slots + 1):
        outdir = os.path.join(out, str(i))
        os.makedirs(outdir)
        os.chmod(outdir, 0o777)
        cmd = ["env", "-u", "PYTHONDONTWRITEBYTECODE", python, "run-tests.py", "--local", "-j1", "--outputdir", outdir,
               "--port", str(30059 + 100 * i), "--shard-total", str(slots), "--shard-index", str(i)] + tests
        cmds.append((["runuser", "-u", run_as, "--"] if run_as else []) + cmd)
    static = parallel_wall(cmds, os.path.join(source, "tests"))
    shutil.rmtree(out, ignore_errors=True)
    return ("Mercurial subset (%d tests)" % len(tests), slots, lb, makespan, wall, "run-tests.py --shard-total %d" % slots, static), events


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--automation", default=os.path.join(ROOT, ".build/release/automation"))
    parser.add_argument("--slots", type=int, default=4)
    parser.add_argument("--skip-sim", action="store_true")
    parser.add_argument("--skip-real", action="store_true")
    parser.add_argument("--mercurial", help="Mercurial source tree (built with make local) for the run-tests.py comparison")
    parser.add_argument("--hg-slots", type=int, default=2)
    parser.add_argument("--run-as", help="unprivileged user for the Mercurial suite")
    parser.add_argument("--hg-python", default="/usr/bin/python3")
    parser.add_argument("--hg-tests", default="test-abort-checkin.t test-bad-pull.t test-empty.t test-permissions.t "
                        "test-addremove.t test-cat.t test-diffstat.t test-add.t test-convert-cvs.t test-narrow-pull.t "
                        "test-hgweb-non-interactive.t test-revert-flags.t")
    options = parser.parse_args()
    if not options.skip_sim:
        simulation()
    work = tempfile.mkdtemp(prefix="sched-bench-")
    state = os.path.join(work, "state")
    rows, latencies = [], []
    try:
        for name, fn in [] if options.skip_real else [("sample", lambda: sample_suite(options.automation, options.slots, state)),
                         ("pytest", lambda: pytest_suite(options.automation, options.slots, state, work))]:
            row, events = fn()
            rows.append(row)
            latencies.append((row[0], latency(events)))
        if options.mercurial:
            row, events = mercurial(options.automation, options.hg_slots, state, options.mercurial, options.run_as,
                                    options.hg_python, options.hg_tests.split())
            rows.append(row)
            latencies.append((row[0], latency(events)))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print("## 2. Real runs on this machine (durations known from a previous run)\n")
    print("| suite | slots | lower bound s | automation makespan s | makespan / LB | automation wall s | baseline | baseline wall s | automation wall / baseline wall |")
    print("|---|---|---|---|---|---|---|---|---|")
    for suite, slots, lb, makespan, wall, baseline, base_wall in rows:
        print("| %s | %d | %.2f | %.2f | %.3f | %.2f | %s | %.2f | %.3f |" % (suite, slots, lb, makespan, makespan / lb, wall,
                                                                         baseline, base_wall, wall / base_wall))
    print("\nwall = whole command, including agent start, listing/collection and interpreter start-up.\n")
    print("## 3. Result latency (test end on the runner -> event in the controller)\n")
    print("| suite | results | p50 ms | p99 ms | max ms |")
    print("|---|---|---|---|---|")
    for suite, lat in latencies:
        if lat:
            print("| %s | %d | %.1f | %.1f | %.1f |" % ((suite,) + lat))


if __name__ == "__main__":
    main()
