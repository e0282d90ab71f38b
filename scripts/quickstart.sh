#!/usr/bin/env bash
# The main job, from a fresh clone: install what is missing, build, and run the quickstart
# experiment (experiments/quickstart.json): every kernel checked against the oracle, end-to-end
# losslessness on a tiny synthetic model, every kernel timed on a small model's shapes, and prompt /
# generation tokens/s of that small synthetic model. Results: results/quickstart/*.json + .md (+ PNGs).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
echo
build/tritbench sysinfo
echo
status=0
build/tritbench run experiments/quickstart.json || status=$?
latest=$(ls -t results/quickstart/*.json 2>/dev/null | head -n 1 || true)
if [ -n "$latest" ] && [ -f scripts/plot.py ]; then
  /usr/bin/python3 scripts/plot.py "$latest" || echo "quickstart: plotting failed (results are in $latest)"
fi
exit $status
