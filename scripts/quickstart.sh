#!/usr/bin/env bash
# The main job: build, check every kernel against the oracle, time the kernels on the BitNet b1.58
# 2B-4T shapes next to bitnet.cpp's figures for this machine class, check end-to-end losslessness on
# a synthetic model, and measure prompt and generation tokens/s of a small built-in synthetic model.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
echo
build/tritbench sysinfo
echo
build/tritbench check
echo
build/tritbench kernels --quick
echo
build/tritbench check --e2e
echo
build/tritbench e2e --synthetic small -p 128 -n 32 -r 3
