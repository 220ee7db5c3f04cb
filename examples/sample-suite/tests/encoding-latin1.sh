#!/bin/sh
# encoding-latin1
set -eu
sleep 0.2
word=$(printf '%s' 'encoding-latin1' | tr 'a-z' 'A-Z')
test "$word" = "$(echo 'encoding-latin1' | tr 'a-z' 'A-Z')"
test ${#word} -eq 15
