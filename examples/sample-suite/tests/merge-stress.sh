#!/bin/sh
# merge-stress
set -eu
sleep 1.8
a=$(printf "1\n2\n3\n" | sort -r | head -1)
test "$a" = 3
