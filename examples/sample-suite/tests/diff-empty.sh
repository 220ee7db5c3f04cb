#!/bin/sh
# diff-empty
set -eu
sleep 0.1
word=$(printf '%s' 'diff-empty' | tr 'a-z' 'A-Z')
test "$word" = "$(echo 'diff-empty' | tr 'a-z' 'A-Z')"
test ${#word} -eq 10
