#!/bin/sh
# config-override
set -eu
sleep 0.25
word=$(printf '%s' 'config-override' | tr 'a-z' 'A-Z')
test "$word" = "$(echo 'config-override' | tr 'a-z' 'A-Z')"
test ${#word} -eq 15
