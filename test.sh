#!/bin/sh
# Runs the whole test suite: installs what is missing, builds the controller,
# the agent (debug and fully static) and the tests, then runs every test.
# Integration tests start their own sshd, moto server and agents; with
# CI=true a missing tool fails a test instead of skipping it. A full run ends
# with a one-minute fuzzing run (Fuzz/run.sh); ./sanitize.sh runs the tests
# under ASan and TSan (too slow for every run).
set -eu
cd "$(dirname "$0")"
deploy/install-deps.sh
echo "test.sh: building ($(date -u +%H:%M:%S))" >&2
swift build --build-tests
# Every test runs the agent that ships: the fully static release build.
AUTOMATION_AGENT_BINARY=$(deploy/build-agent.sh | tail -n 1)
export AUTOMATION_AGENT_BINARY
echo "test.sh: testing ($(date -u +%H:%M:%S))" >&2
swift test --skip-build "$@"
# A bounded fuzzing run over the protocol decoder and validation (Fuzz/),
# on full runs only; a crash fails the run and leaves its input in Fuzz/.
if [ $# -eq 0 ]; then
    Fuzz/run.sh "${FUZZ_SECONDS:-60}"
fi
