#!/bin/sh
# Regenerate the build system: configure, Makefile.in and the helper scripts.
set -e
cd "$(dirname "$0")"
autoreconf --install --force --warnings=all
