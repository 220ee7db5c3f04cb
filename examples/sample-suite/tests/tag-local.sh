#!/bin/sh
# tag-local
set -eu
sleep 0.1
word=$(printf '%s' 'tag-local' | tr 'a-z' 'A-Z')
test "$word" = "$(echo 'tag-local' | tr 'a-z' 'A-Z')"
test ${#word} -eq 9
