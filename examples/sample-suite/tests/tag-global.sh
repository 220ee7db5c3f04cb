#!/bin/sh
# tag-global
set -eu
sleep 0.15
word=$(printf '%s' 'tag-global' | tr 'a-z' 'A-Z')
test "$word" = "$(echo 'tag-global' | tr 'a-z' 'A-Z')"
test ${#word} -eq 10
