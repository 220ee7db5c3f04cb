#!/bin/sh
# path-join
set -eu
sleep 0.1
word=$(printf '%s' 'path-join' | tr 'a-z' 'A-Z')
test "$word" = "$(echo 'path-join' | tr 'a-z' 'A-Z')"
test ${#word} -eq 9
