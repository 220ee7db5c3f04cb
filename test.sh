#!/bin/sh
# Runs the whole test suite: installs what is missing, builds the controller,
# the agent (debug and fully static) and the tests, then runs every test.
# Integration tests start their own sshd, moto server and agents; with
# CI=true a missing tool fails a test instead of skipping it.
set -eu
cd "$(dirname "$0")"
deploy/install-deps.sh
echo "test.sh: building ($(date -u +%H:%M:%S))" >&2
swift build --build-tests
# Every test runs the agent that ships: the fully static release build.
AUTOMATION_AGENT_BINARY=$(deploy/build-agent.sh | tail -n 1)
export AUTOMATION_AGENT_BINARY
echo "test.sh: testing ($(date -u +%H:%M:%S))" >&2
exec swift test --skip-build "$@"
