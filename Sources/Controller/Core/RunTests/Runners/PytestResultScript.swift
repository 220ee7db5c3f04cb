/// The Python program the pytest runner execs: pytest with a plugin that
/// prints one `@@automation-result@@ {json}` line per test as it finishes
/// (setup, call and teardown folded into one verdict). Passed with
/// `python -c`, so nothing has to be installed on the target.
enum PytestResultScript {
    static let source = #"""
# Runs pytest with a plugin that prints one "@@automation-result@@ {json}"
# line the moment each test finishes (setup, call and teardown folded).
import json, os, sys, time

import pytest

MARK = "@@automation-result@@ "
RANK = {"pass": 0, "skip": 1, "fail": 2, "timeout": 3, "error": 4}
OUT = os.fdopen(os.dup(1), "w", buffering=1)  # the real stdout, whatever capture does later


class AutomationStream:
    def __init__(self):
        self.tests = {}

    def pytest_runtest_logstart(self, nodeid, location):
        self.tests[nodeid] = {"status": "pass", "message": None, "detail": None, "start": time.time()}

    def _set(self, entry, status, message, detail):
        if RANK[status] > RANK[entry["status"]]:
            entry.update(status=status, message=message, detail=detail)

    def pytest_runtest_logreport(self, report):
        entry = self.tests.setdefault(report.nodeid, {"status": "pass", "message": None, "detail": None, "start": time.time()})
        if report.failed:
            if report.when == "call":
                crash = getattr(getattr(report.longrepr, "reprcrash", None), "message", None)
                lines = (crash or getattr(report, "longreprtext", "") or "failed").strip().splitlines()
                self._set(entry, "fail", lines[0] if lines else "failed", report.longreprtext)
            else:
                self._set(entry, "error", "error in %s" % report.when, report.longreprtext)
        elif report.skipped:
            if hasattr(report, "wasxfail"):
                reason = "xfail: %s" % report.wasxfail
            elif isinstance(report.longrepr, tuple):
                reason = str(report.longrepr[2])
            else:
                reason = "skipped"
            self._set(entry, "skip", reason, None)

    def pytest_runtest_logfinish(self, nodeid, location):
        entry = self.tests.pop(nodeid, None)
        if entry is None:
            return
        end = time.time()
        record = {"test": nodeid, "status": entry["status"], "duration": end - entry["start"],
                  "start": entry["start"], "end": end, "message": entry["message"], "detail": entry["detail"]}
        OUT.write("\n" + MARK + json.dumps(record) + "\n")
        OUT.flush()


sys.exit(pytest.main(sys.argv[1:], plugins=[AutomationStream()]))
"""#
}
