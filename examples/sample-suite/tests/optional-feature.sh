#!/bin/sh
# optional-feature
set -eu
# Needs an optional feature: skipped (exit 80) unless SAMPLE_FEATURE=1.
if [ "${SAMPLE_FEATURE:-0}" != 1 ]; then echo "skipped: SAMPLE_FEATURE not enabled"; exit 80; fi
sleep 0.2
