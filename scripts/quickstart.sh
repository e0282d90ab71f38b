#!/usr/bin/env bash
# The main job: build, check every kernel against the oracle, and time the kernels on the
# BitNet b1.58 2B-4T shapes next to bitnet.cpp's figures for this machine class.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
echo
build/tritbench sysinfo
echo
build/tritbench check
echo
build/tritbench kernels --quick
