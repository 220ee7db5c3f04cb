#!/bin/sh
# config-defaults
set -eu
sleep 0.15
word=$(printf '%s' 'config-defaults' | tr 'a-z' 'A-Z')
test "$word" = "$(echo 'config-defaults' | tr 'a-z' 'A-Z')"
test ${#word} -eq 15
