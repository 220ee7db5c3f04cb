#!/bin/sh
# status-clean
set -eu
sleep 0.3
word=$(printf '%s' 'status-clean' | tr 'a-z' 'A-Z')
test "$word" = "$(echo 'status-clean' | tr 'a-z' 'A-Z')"
test ${#word} -eq 12
