#!/bin/sh
# Runs the unit and integration tests under AddressSanitizer and then
# ThreadSanitizer (swift test --sanitize=...), each in a build directory of
# its own so the normal .build is untouched. Too slow for every CI run (two
# extra full builds); run it before a release and after changes to C
# wrappers, descriptors or concurrency. Results: docs/security.md.
#
#   ./sanitize.sh [address|thread] [swift test arguments, e.g. --filter AgentTests]
set -eu
cd "$(dirname "$0")"
kinds="address thread"
case "${1:-}" in
    address|thread) kinds=$1; shift ;;
esac
# The tests run the agent binary; the sanitized debug build's own agent is used.
unset AUTOMATION_AGENT_BINARY
status=0
for kind in $kinds; do
    scratch=.build-sanitize-$kind
    echo "sanitize: $kind: building ($(date -u +%H:%M:%S))" >&2
    swift build --build-tests --sanitize="$kind" --scratch-path "$scratch"
    echo "sanitize: $kind: testing ($(date -u +%H:%M:%S))" >&2
    # TSan needs a fixed address space layout; the agent children inherit the options.
    if ! env TSAN_OPTIONS="halt_on_error=0 second_deadlock_stack=1" ASAN_OPTIONS="detect_leaks=0" \
        swift test --skip-build --sanitize="$kind" --scratch-path "$scratch" "$@"; then
        echo "sanitize: $kind: FAILED" >&2
        status=1
    fi
done
exit $status
