#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Regenerates configure and Makefile.in (they are never committed).
set -e
cd "$(dirname "$0")"
mkdir -p m4
autoreconf --install --force
