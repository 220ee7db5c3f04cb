#!/bin/sh
# encoding-utf8
set -eu
sleep 0.1
word=$(printf '%s' 'encoding-utf8' | tr 'a-z' 'A-Z')
test "$word" = "$(echo 'encoding-utf8' | tr 'a-z' 'A-Z')"
test ${#word} -eq 13
