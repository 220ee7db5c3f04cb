#!/bin/sh
# deliberate-failure
set -eu
# Passes unless SAMPLE_FAIL=1, then fails with a diff like a real regression.
sleep 0.3
expected="total: 42"
if [ "${SAMPLE_FAIL:-0}" = 1 ]; then actual="total: 41"; else actual="total: 42"; fi
if [ "$actual" != "$expected" ]; then printf -- "--- expected\n+++ actual\n-%s\n+%s\n" "$expected" "$actual"; exit 1; fi
