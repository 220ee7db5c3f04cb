#!/bin/sh
# flaky-network
set -eu
# Fails on its first run when SAMPLE_FLAKY_DIR is set (a marker file remembers the try).
sleep 0.2
if [ -n "${SAMPLE_FLAKY_DIR:-}" ] && [ ! -e "$SAMPLE_FLAKY_DIR/flaky-network.tried" ]; then
  touch "$SAMPLE_FLAKY_DIR/flaky-network.tried"; echo "connection reset by peer"; exit 1
fi
