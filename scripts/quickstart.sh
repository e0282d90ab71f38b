#!/usr/bin/env bash
# The main job, from a fresh clone: install what is missing, build, and run the quickstart
# experiment (experiments/quickstart.json): every kernel checked against the oracle, end-to-end
# losslessness on a tiny synthetic model, every kernel timed on a small model's shapes, and prompt /
# generation tokens/s of that small synthetic model. Results: results/quickstart/*.json + .md + PNGs,
# named in the summary printed at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
echo
build/tritbench sysinfo
echo
# Only a result written by this run counts (an older one may sit in the same folder).
marker=$(mktemp)
trap 'rm -f "$marker"' EXIT
status=0
build/tritbench run experiments/quickstart.json || status=$?
result=$(find results/quickstart -maxdepth 1 -name '*.json' -newer "$marker" 2>/dev/null | sort | tail -n 1)

pngs=()
plot_note=""
if [ -z "$result" ]; then
  plot_note="no result file was written"
elif ! /usr/bin/python3 -c 'import matplotlib' 2>/dev/null; then
  plot_note="skipped: /usr/bin/python3 with python3-matplotlib is missing (scripts/setup.sh installs it)"
else
  # plot.py prints the PNGs it wrote, one per line (its notes go to stderr).
  if plot_out=$(/usr/bin/python3 scripts/plot.py "$result"); then
    while IFS= read -r line; do [ -n "$line" ] && pngs+=("$line"); done <<< "$plot_out"
  else
    plot_note="plot.py failed (see above); the results are still in the JSON"
  fi
fi

echo
echo "== quickstart summary =="
if [ -n "$result" ]; then
  echo "result JSON : $result"
  echo "summary     : ${result%.json}.md"
  if [ -x /usr/bin/python3 ]; then
    /usr/bin/python3 - "$result" <<'EOF' || true
import json, sys
r = json.load(open(sys.argv[1]))
checks = r.get("checks", [])
k = [c for c in checks if c.get("kind") == "check"]
e = [c for c in checks if c.get("kind") == "check_e2e"]
bad_k = [c["kernel"] for c in k if not c.get("ok")]
ran_k = [c for c in k if c.get("pass")]
bad_e = ["%s t=%s" % (c["kernel"], c["threads"]) for c in e
         if c.get("error") or (c.get("exact") and not c.get("pass"))]
lines = []
if k:
    lines.append("kernels vs oracle: %s (%d of %d rows ran here, the rest need another CPU)" % (
        "pass" if not bad_k else "FAILED: " + ", ".join(bad_k), len(ran_k), len(k)))
if e:
    lines.append("end to end (%s): %s" % (e[0].get("model", "?"),
                 "exact kernels give bit-identical logits and the reference tokens, %d runs" % len(e)
                 if not bad_e else "FAILED: " + ", ".join(bad_e)))
for i, line in enumerate(lines or ["none in this run"]):
    print(("checks      : " if i == 0 else " " * 14) + line)
print("timed       : %d kernel sweep rows, %d end-to-end rows%s" % (
    len(r.get("sweeps", [])), len(r.get("e2e", [])), " (INTERRUPTED: partial)" if r.get("interrupted") else ""))
EOF
  fi
fi
if [ ${#pngs[@]} -gt 0 ]; then
  echo "plots       : ${pngs[0]}"
  for p in "${pngs[@]:1}"; do echo "              $p"; done
else
  echo "plots       : ${plot_note:-none written}"
fi
echo "next        : build/tritbench compare OLD.json ${result:-NEW.json}   (what changed, with noise-aware verdicts)"
echo "              results/README.md explains every field"
if [ "$status" -ne 0 ]; then
  echo "status      : tritbench run exited $status (1: a check failed, 130: interrupted)"
fi
exit $status
