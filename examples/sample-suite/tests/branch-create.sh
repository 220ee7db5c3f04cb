#!/bin/sh
# branch-create
set -eu
sleep 0.15
word=$(printf '%s' 'branch-create' | tr 'a-z' 'A-Z')
test "$word" = "$(echo 'branch-create' | tr 'a-z' 'A-Z')"
test ${#word} -eq 13
