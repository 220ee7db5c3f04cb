/// The Python program the mercurial runner execs: it loads run-tests.py with a
/// result class (run-tests.py's `CUSTOM_TEST_RESULT` hook) that prints one
/// `@@automation-result@@ {json}` line the moment each test finishes, so
/// results stream while the batch is still running. Passed with `python -c`,
/// so nothing has to be installed on the target.
enum MercurialResultScript {
    static let source = #"""
# Runs Mercurial's run-tests.py with a result class that prints one
# "@@automation-result@@ {json}" line the moment each test finishes.
import json, os, runpy, sys, time, types

MARK = "@@automation-result@@ "
RANK = {"pass": 0, "skip": 1, "fail": 2, "timeout": 3, "error": 4}


def _result_class():
    main = sys.modules["__main__"]
    base = main.TestResult

    class AutomationResult(base):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self._verdicts = {}

        def _note(self, test, status, message=None):
            old = self._verdicts.get(test.name)
            if old is None or RANK[status] > RANK[old[0]]:
                self._verdicts[test.name] = (status, message)

        def addSuccess(self, test):
            super().addSuccess(test)
            self._note(test, "pass")

        def addFailure(self, test, reason):
            super().addFailure(test, reason)
            self._note(test, "timeout" if reason == "timed out" else "fail", str(reason))

        def addError(self, test, err=None, message=None):
            super().addError(test, err, message)
            self._note(test, "error", str(message if message is not None else (err[1] if err else "error")))

        def addSkip(self, test, reason):
            super().addSkip(test, reason)
            self._note(test, "skip", str(reason))

        def addIgnore(self, test, reason):
            super().addIgnore(test, reason)
            self._note(test, "skip", "ignored: %s" % reason)

        def stopTest(self, test, interrupted=False):
            super().stopTest(test, interrupted)
            end = time.time()
            start = getattr(test, "started_time", end)
            status, message = self._verdicts.pop(test.name, ("error", "no result from run-tests.py"))
            if interrupted:
                status, message = "error", "interrupted"
            detail = self.faildata.get(test.name)
            if isinstance(detail, bytes):
                detail = detail.decode("utf-8", "replace")
            record = {"test": test.name, "status": status, "duration": end - start,
                      "start": start, "end": end, "message": message, "detail": detail}
            with main.iolock:
                sys.stdout.write("\n" + MARK + json.dumps(record) + "\n")
                sys.stdout.flush()

    return AutomationResult


def _module_getattr(name):
    if name == "TestResult":
        return _result_class()
    raise AttributeError(name)


module = types.ModuleType("automation_hg_result")
module.__getattr__ = _module_getattr
sys.modules["automation_hg_result"] = module
os.environ["CUSTOM_TEST_RESULT"] = "automation_hg_result"
script = os.path.abspath(sys.argv[1])
sys.argv = [script] + sys.argv[2:]
sys.path.insert(0, os.path.dirname(script))
runpy.run_path(script, run_name="__main__")
"""#
}
