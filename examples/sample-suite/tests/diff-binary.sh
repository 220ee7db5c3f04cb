#!/bin/sh
# diff-binary
set -eu
sleep 0.25
word=$(printf '%s' 'diff-binary' | tr 'a-z' 'A-Z')
test "$word" = "$(echo 'diff-binary' | tr 'a-z' 'A-Z')"
test ${#word} -eq 11
