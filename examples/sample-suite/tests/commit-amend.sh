#!/bin/sh
# commit-amend
set -eu
sleep 0.4
word=$(printf '%s' 'commit-amend' | tr 'a-z' 'A-Z')
test "$word" = "$(echo 'commit-amend' | tr 'a-z' 'A-Z')"
test ${#word} -eq 12
