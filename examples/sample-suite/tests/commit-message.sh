#!/bin/sh
# commit-message
set -eu
sleep 0.2
word=$(printf '%s' 'commit-message' | tr 'a-z' 'A-Z')
test "$word" = "$(echo 'commit-message' | tr 'a-z' 'A-Z')"
test ${#word} -eq 14
