#!/bin/sh
# Runs the whole test suite: installs what is missing, builds the controller,
# the agent (debug and fully static) and the tests, then runs every test.
# Integration tests start their own sshd, moto server and agents; with
# CI=true a missing tool fails a test instead of skipping it.
set -eu
cd "$(dirname "$0")"
deploy/install-deps.sh
swift build --build-tests
# SSH targets upload the static agent, as they would to a real host.
AUTOMATION_STATIC_AGENT=$(deploy/build-agent.sh | tail -n 1)
export AUTOMATION_STATIC_AGENT
exec swift test --skip-build "$@"
