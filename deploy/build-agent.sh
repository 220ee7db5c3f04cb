#!/bin/sh
# Builds automation-agent as a fully static, stripped x86_64 Linux executable
# and prints its path as the last line.
#
# Fully static (glibc included) works because the agent uses only
# FoundationEssentials, Dispatch and libc, and never looks up user or group
# names (NSS cannot work in a static binary; the protocol takes numeric ids).
# The result runs on any x86_64 Linux kernel >= 3.2 with /proc, whatever the
# distribution's libc. See docs/architecture.md, "The static agent".
set -eu
cd "$(dirname "$0")/.."
scratch="${AUTOMATION_AGENT_SCRATCH:-.build-static}"
swift build -c release --scratch-path "$scratch" --product automation-agent \
    --static-swift-stdlib -Xswiftc -static-executable -Xlinker --gc-sections >&2
bin="$(swift build -c release --scratch-path "$scratch" --show-bin-path)/automation-agent"
out="$scratch/automation-agent"
cp "$bin" "$out"
strip "$out"
if ldd "$out" >/dev/null 2>&1; then
    echo "build-agent.sh: $out is not statically linked" >&2
    exit 1
fi
echo "$(cd "$(dirname "$out")" && pwd)/$(basename "$out")"
