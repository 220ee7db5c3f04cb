#!/bin/sh
# log-limit
set -eu
sleep 0.2
word=$(printf '%s' 'log-limit' | tr 'a-z' 'A-Z')
test "$word" = "$(echo 'log-limit' | tr 'a-z' 'A-Z')"
test ${#word} -eq 9
