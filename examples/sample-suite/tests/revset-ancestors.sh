#!/bin/sh
# revset-ancestors
set -eu
sleep 0.45
word=$(printf '%s' 'revset-ancestors' | tr 'a-z' 'A-Z')
test "$word" = "$(echo 'revset-ancestors' | tr 'a-z' 'A-Z')"
test ${#word} -eq 16
