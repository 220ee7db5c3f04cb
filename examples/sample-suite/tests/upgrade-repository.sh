#!/bin/sh
# upgrade-repository
set -eu
sleep 2.4
tmp=$(mktemp -d); trap "rm -rf $tmp" EXIT
printf "v1\n" > "$tmp/format"; printf "v2\n" > "$tmp/format.new"; mv "$tmp/format.new" "$tmp/format"
grep -qx v2 "$tmp/format"
