#!/bin/sh
# log-graph
set -eu
sleep 0.45
word=$(printf '%s' 'log-graph' | tr 'a-z' 'A-Z')
test "$word" = "$(echo 'log-graph' | tr 'a-z' 'A-Z')"
test ${#word} -eq 9
