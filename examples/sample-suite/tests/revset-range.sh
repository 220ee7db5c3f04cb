#!/bin/sh
# revset-range
set -eu
sleep 0.35
word=$(printf '%s' 'revset-range' | tr 'a-z' 'A-Z')
test "$word" = "$(echo 'revset-range' | tr 'a-z' 'A-Z')"
test ${#word} -eq 12
