#!/bin/sh
# build-index
set -eu
sleep 3.0
i=0; sum=0; while [ $i -lt 1000 ]; do sum=$((sum + i)); i=$((i + 1)); done
test "$sum" -eq 499500
echo "indexed 1000 entries"
