#!/bin/sh
# path-normalize
set -eu
sleep 0.12
word=$(printf '%s' 'path-normalize' | tr 'a-z' 'A-Z')
test "$word" = "$(echo 'path-normalize' | tr 'a-z' 'A-Z')"
test ${#word} -eq 14
