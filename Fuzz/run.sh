#!/bin/sh
# Builds the protocol fuzzer (libFuzzer through swiftc -sanitize=fuzzer, with
# AddressSanitizer) and runs it for a bounded time over the corpus in the
# repository. New inputs libFuzzer finds go to a scratch directory, not into
# the repository; a crash leaves its input as Fuzz/crash-* and fails.
#
#   Fuzz/run.sh [SECONDS]      (default 60)
set -eu
cd "$(dirname "$0")/.."
seconds=${1:-60}
out=.build/fuzz
mkdir -p "$out/new-corpus"
echo "fuzz: building ($(date -u +%H:%M:%S))" >&2
swiftc -sanitize=fuzzer,address -parse-as-library -module-name AgentProtocol -g -O \
    Sources/Protocol/*.swift Fuzz/ProtocolFuzzer.swift -o "$out/protocol-fuzzer"
echo "fuzz: running for ${seconds}s ($(date -u +%H:%M:%S))" >&2
"$out/protocol-fuzzer" -max_total_time="$seconds" -max_len=4096 -timeout=10 -rss_limit_mb=2048 \
    -artifact_prefix=Fuzz/crash- -print_final_stats=1 \
    "$out/new-corpus" Fuzz/corpus/protocol
