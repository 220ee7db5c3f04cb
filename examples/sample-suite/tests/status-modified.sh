#!/bin/sh
# status-modified
set -eu
sleep 0.35
word=$(printf '%s' 'status-modified' | tr 'a-z' 'A-Z')
test "$word" = "$(echo 'status-modified' | tr 'a-z' 'A-Z')"
test ${#word} -eq 15
