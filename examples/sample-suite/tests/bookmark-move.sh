#!/bin/sh
# bookmark-move
set -eu
sleep 0.3
word=$(printf '%s' 'bookmark-move' | tr 'a-z' 'A-Z')
test "$word" = "$(echo 'bookmark-move' | tr 'a-z' 'A-Z')"
test ${#word} -eq 13
