#!/bin/sh
# embed.sh SYMBOL FILE: print a C file defining `const char SYMBOL[]` (NUL-terminated) and
# `const size_t SYMBOL_len` with the bytes of FILE, so the default configuration is compiled in.
set -eu
sym=$1
file=$2
echo "/* generated from $(basename "$file") by build-aux/embed.sh: do not edit */"
echo "#include <stddef.h>"
echo "const char ${sym}[] = {"
od -An -v -tu1 "$file" | awk '{ for (i = 1; i <= NF; i++) printf "%s,", $i; printf "\n" }'
echo "0};"
echo "const size_t ${sym}_len = sizeof ${sym} - 1;"
