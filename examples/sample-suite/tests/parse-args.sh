#!/bin/sh
# parse-args
set -eu
sleep 0.2
word=$(printf '%s' 'parse-args' | tr 'a-z' 'A-Z')
test "$word" = "$(echo 'parse-args' | tr 'a-z' 'A-Z')"
test ${#word} -eq 10
