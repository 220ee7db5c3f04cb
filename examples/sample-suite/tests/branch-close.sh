#!/bin/sh
# branch-close
set -eu
sleep 0.2
word=$(printf '%s' 'branch-close' | tr 'a-z' 'A-Z')
test "$word" = "$(echo 'branch-close' | tr 'a-z' 'A-Z')"
test ${#word} -eq 12
