#!/bin/sh
# diff-text
set -eu
sleep 0.3
word=$(printf '%s' 'diff-text' | tr 'a-z' 'A-Z')
test "$word" = "$(echo 'diff-text' | tr 'a-z' 'A-Z')"
test ${#word} -eq 9
