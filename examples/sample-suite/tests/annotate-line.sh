#!/bin/sh
# annotate-line
set -eu
sleep 0.5
word=$(printf '%s' 'annotate-line' | tr 'a-z' 'A-Z')
test "$word" = "$(echo 'annotate-line' | tr 'a-z' 'A-Z')"
test ${#word} -eq 13
