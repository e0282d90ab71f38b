#!/usr/bin/python3
"""Turns a `tritbench kernels -o json` file into PNGs.

  scripts/plot.py results.json [--out DIR] [--kernels GLOB,...]

Writes, into DIR (default: next to the JSON, named after it):
  <name>-time.png      GEMM time per shape per kernel (bars, log scale; whiskers = stddev), one
                       panel per (batch, threads)
  <name>-roofline.png  achieved GOP/s against arithmetic intensity (ops per packed weight byte),
                       with the machine's measured ceilings: read bandwidth x intensity (the memory
                       roof, for cold weights) and each ISA's int8 peak; one panel per thread count

The caption of each figure names the machine, the CPU and the commit. Uses Debian's
python3-matplotlib (/usr/bin/python3); no other dependency.
"""

import argparse
import fnmatch
import json
import math
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

ISA_PEAK = {"scalar": "scalar", "avx2": "avx2", "avx512": "avx512bw",
            "avx512vnni": "avx512vnni", "avx512vbmi": "avx512vnni"}
PEAK_LABEL = {"scalar": "SSE2 pmaddwd", "avx2": "AVX2 maddubs", "avx512bw": "AVX-512 maddubs",
              "avx512vnni": "AVX-512 VNNI", "avxvnni": "AVX-VNNI"}


def fail(msg):
    sys.stderr.write("plot.py: " + msg + "\n")
    sys.exit(2)


def load(path):
    try:
        with open(path) as f:
            doc = json.load(f)
    except (OSError, ValueError) as e:
        fail("%s: cannot read a kernels JSON: %s" % (path, e))
    # `tritbench run` files keep their kernel sweep rows under "sweeps".
    if isinstance(doc, dict) and "results" not in doc and isinstance(doc.get("sweeps"), list):
        doc["results"] = doc["sweeps"]
    if not isinstance(doc, dict) or not isinstance(doc.get("results"), list):
        fail("%s: field 'results' missing (expected `tritbench kernels -o json` or `tritbench run` output)" % path)
    rows = []
    for i, r in enumerate(doc["results"]):
        for key in ("kernel", "M", "K", "batch", "threads", "median_seconds", "gops", "packed_bytes"):
            if key not in r:
                fail("%s: results[%d] has no field '%s'" % (path, i, key))
        if r.get("error"):
            continue
        rows.append(r)
    if not rows:
        fail("%s: no successful result to plot" % path)
    return doc, rows


def caption(doc):
    env = doc.get("environment") or {}
    cpu = (env.get("cpu") or {}).get("model", "?")
    build = env.get("build") or {}
    host = env.get("host", "?")
    roof = doc.get("roofline") or {}
    when = roof.get("measured_at", "")
    return "%s | %s | tritbench %s (%s)%s" % (
        host, cpu, build.get("git_commit", "?"), build.get("compiler", "?"),
        " | roofline measured " + when if when else "")


def shape_label(r):
    s = r.get("shape") or ""
    short = s.split(".", 1)[1] if "." in s else s
    dims = "%dx%d" % (r["M"], r["K"])
    return dims if short in ("", dims) else "%s\n%s" % (short, dims)


def kernel_name(r):
    return r.get("kernel_ran") or r["kernel"]


def colors(names):
    cmap = plt.get_cmap("tab10" if len(names) <= 10 else "tab20")
    return {n: cmap(i % cmap.N) for i, n in enumerate(names)}


def plot_time(doc, rows, out):
    kernels = sorted({kernel_name(r) for r in rows})
    col = colors(kernels)
    combos = sorted({(r["batch"], r["threads"]) for r in rows})
    shapes = []
    for r in rows:
        key = (r["M"], r["K"])
        if key not in [s[0] for s in shapes]:
            shapes.append((key, shape_label(r)))
    # One panel per (batch, threads), stacked; legend to the right of the top panel.
    panel_w = max(6.0, 0.14 * len(shapes) * len(kernels) + 1.5)
    fig, axes = plt.subplots(len(combos), 1, squeeze=False, figsize=(panel_w + 3.2, 3.3 * len(combos) + 0.6))
    width = 0.8 / len(kernels)
    for pi, (b, t) in enumerate(combos):
        ax = axes[pi][0]
        for ki, k in enumerate(kernels):
            xs, ys, lo, hi = [], [], [], []
            for si, (key, _) in enumerate(shapes):
                for r in rows:
                    if kernel_name(r) == k and (r["M"], r["K"]) == key and r["batch"] == b and r["threads"] == t:
                        y = r["median_seconds"] * 1e6
                        sd = r.get("stddev_seconds", 0) * 1e6
                        xs.append(si - 0.4 + width * (ki + 0.5))
                        ys.append(y)
                        lo.append(min(sd, 0.9 * y))  # log axis: whiskers stay above zero
                        hi.append(sd)
            if xs:
                ax.bar(xs, ys, width, yerr=[lo, hi], color=col[k], label=k, capsize=1.5,
                       error_kw={"elinewidth": 0.7, "ecolor": "0.2"})
        ax.set_yscale("log")
        ax.set_xticks(range(len(shapes)))
        ax.set_xticklabels([lbl for _, lbl in shapes], fontsize=8)
        ax.set_ylabel("GEMM us per call\n(median, log)", fontsize=9)
        hot = {r["hot"] for r in rows if r["batch"] == b and r["threads"] == t}
        ax.set_title("batch %d, %d thread%s, weights %s" % (
            b, t, "" if t == 1 else "s", " + ".join("hot" if h else "cold (rotating)" for h in sorted(hot))),
            fontsize=10, loc="left")
        ax.grid(axis="y", which="major", alpha=0.35)
        ax.grid(axis="y", which="minor", alpha=0.12)
        ax.set_xlim(-0.5, len(shapes) - 0.5)
    handles, labels = axes[0][0].get_legend_handles_labels()
    axes[0][0].legend(handles, labels, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8,
                      title="kernel (as run)", title_fontsize=8)
    fig.text(0.01, 0.005, caption(doc) + " | whiskers: stddev over repetitions", ha="left", fontsize=7,
             color="0.3")
    fig.tight_layout(rect=(0, 0.015, 1, 1))
    fig.savefig(out, dpi=110)
    plt.close(fig)


def plot_roofline(doc, rows, out):
    roof = doc.get("roofline")
    ceilings = {c["threads"]: c for c in (roof or {}).get("ceilings", [])}
    threads = sorted({r["threads"] for r in rows})
    kernels = sorted({kernel_name(r) for r in rows})
    col = colors(kernels)
    fig, axes = plt.subplots(1, len(threads), squeeze=False, figsize=(7.0 * len(threads), 5.6))
    ai_all = [2.0 * r["M"] * r["K"] * r["batch"] / r["packed_bytes"] for r in rows]
    lo, hi = min(ai_all) / 2, max(ai_all) * 2
    for ti, t in enumerate(threads):
        ax = axes[0][ti]
        c = ceilings.get(t) or (ceilings[max(ceilings)] if ceilings else None)
        xs = [lo * (hi / lo) ** (i / 100) for i in range(101)]
        ymax = max(r["gops"] for r in rows)
        if c:
            bw = c["read_gbps"]
            ax.plot(xs, [bw * x for x in xs], color="black", lw=1.5,
                    label="DRAM read %.1f GB/s x intensity" % bw)
            used = sorted({ISA_PEAK.get(r["isa"], "") for r in rows} - {""})
            placed = []
            for name in sorted(used, key=lambda n: -c["int8_peak_gops"].get(n, 0)):
                peak = c["int8_peak_gops"].get(name)
                if not peak:
                    continue
                ymax = max(ymax, peak)
                ax.axhline(peak, color="0.35", ls="--", lw=1)
                # Of two close ceilings, the higher is labelled above its line, the lower below.
                below = bool(placed) and abs(math.log(placed[-1] / peak)) < 0.25
                ax.text(hi / 1.15, peak * (0.96 if below else 1.04),
                        "%s peak %.0f GOP/s" % (PEAK_LABEL.get(name, name), peak),
                        ha="right", va="top" if below else "bottom", fontsize=7, color="0.25")
                placed.append(peak)
        # Kernels sharing an intensity are spread a little sideways so their points stay visible.
        for ki, k in enumerate(kernels):
            jitter = 1.0 + 0.5 * (ki - (len(kernels) - 1) / 2) / max(1, len(kernels))
            for hot in (False, True):
                pts = [r for r in rows if kernel_name(r) == k and r["threads"] == t and bool(r["hot"]) == hot]
                if not pts:
                    continue
                ax.scatter([jitter * 2.0 * r["M"] * r["K"] * r["batch"] / r["packed_bytes"] for r in pts],
                           [r["gops"] for r in pts], s=26, color=col[k],
                           facecolors="none" if hot else col[k], marker="o" if not hot else "s",
                           label=k + (" (hot)" if hot else ""), zorder=3, edgecolors=col[k])
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_ylim(min(r["gops"] for r in rows) / 2, ymax * 2.5)
        ax.set_xlim(lo, hi)
        ax.set_xlabel("arithmetic intensity (ops per packed weight byte; 8 x batch for 2-bit weights)")
        ax.set_ylabel("achieved GOP/s (2 ops per weight x token)")
        ax.set_title("%d thread%s%s" % (t, "" if t == 1 else "s",
                                       "" if c else " (no roofline in the JSON)"), fontsize=10)
        ax.grid(which="both", alpha=0.25)
        ax.legend(fontsize=7, loc="upper left")
    fig.text(0.5, 0.005, caption(doc) + " | filled: cold weights (memory roof applies), open: hot",
             ha="center", fontsize=7, color="0.3")
    fig.tight_layout(rect=(0, 0.03, 1, 1))
    fig.savefig(out, dpi=110)
    plt.close(fig)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("json", help="output of `tritbench kernels -o json`")
    ap.add_argument("--out", help="directory for the PNGs (default: the JSON's directory)")
    ap.add_argument("--kernels", help="comma-separated globs of kernel names to keep")
    a = ap.parse_args()
    doc, rows = load(a.json)
    if a.kernels:
        globs = a.kernels.split(",")
        rows = [r for r in rows if any(fnmatch.fnmatch(kernel_name(r), g) for g in globs)]
        if not rows:
            fail("--kernels %s matches no result" % a.kernels)
    out_dir = a.out or os.path.dirname(os.path.abspath(a.json))
    os.makedirs(out_dir, exist_ok=True)
    base = os.path.splitext(os.path.basename(a.json))[0]
    t_png = os.path.join(out_dir, base + "-time.png")
    r_png = os.path.join(out_dir, base + "-roofline.png")
    plot_time(doc, rows, t_png)
    plot_roofline(doc, rows, r_png)
    print(t_png)
    print(r_png)


if __name__ == "__main__":
    main()
