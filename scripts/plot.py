#!/usr/bin/python3
"""Turns a tritbench result file into PNGs.

  scripts/plot.py RESULT.json [--out DIR] [--kernels GLOB,...]

RESULT.json is any of: a `tritbench run` result (results/NAME/*.json: "sweeps", "e2e", "checks"),
`tritbench kernels -o json` or `tritbench e2e -o json` output ("results"), or their `-o jsonl`
form (one row per line). Writes, into DIR (default: the JSON's directory), named after the JSON:

  <name>-time.png      kernel sweep rows: GEMM time per shape per kernel (bars, log scale;
                       whiskers = stddev), one panel per (batch, threads)
  <name>-roofline.png  kernel sweep rows: achieved GOP/s against arithmetic intensity (ops per
                       packed weight byte) under this machine's measured ceilings (read bandwidth x
                       intensity, each ISA's int8 peak); one panel per thread count
  <name>-threads.png   e2e rows: tokens/s against threads, one line per (model, kernel); one panel
                       per phase (prompt processing batched, one token per call, generation)
  <name>-sizes.png     e2e rows over two or more models: tokens/s against model parameters, one line
                       per (kernel, threads); one panel per phase

A plot whose rows are not in the file is skipped with a one-line note on stderr; the written PNGs
are printed on stdout, one per line. Bad input (unreadable JSON, a row without a field a plot
needs) exits with status 2 and names the file, the row and the field. Each figure's caption names
the machine, the CPU and the tritbench commit. Uses Debian's python3-matplotlib (/usr/bin/python3).
"""

import argparse
import fnmatch
import json
import math
import os
import sys
import textwrap

import matplotlib

matplotlib.use("Agg")
import matplotlib.lines  # noqa: E402
import matplotlib.ticker  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402

# The `isa` of a sweep row -> the name of its int8 peak in the roofline ("int8_peak_gops").
ISA_PEAK = {"scalar": "scalar", "avx2": "avx2", "avx512": "avx512bw",
            "avx512vnni": "avx512vnni", "avx512vbmi": "avx512vnni"}
PEAK_LABEL = {"scalar": "SSE2 pmaddwd", "avx2": "AVX2 maddubs", "avx512bw": "AVX-512 maddubs",
              "avx512vnni": "AVX-512 VNNI", "avxvnni": "AVX-VNNI"}
NUMBER, INTEGER, STRING, BOOL = "a number", "an integer", "a string", "true or false"
# Fields each kind of row must carry for the plots that use it.
SWEEP_FIELDS = {"kernel": STRING, "isa": STRING, "M": INTEGER, "K": INTEGER, "batch": INTEGER,
                "threads": INTEGER, "hot": BOOL, "median_seconds": NUMBER, "gops": NUMBER,
                "packed_bytes": INTEGER}
E2E_FIELDS = {"model": STRING, "kernel": STRING, "threads": INTEGER, "test": STRING,
              "n_prompt": INTEGER, "n_gen": INTEGER, "batch": INTEGER, "mean_tps": NUMBER,
              "params": INTEGER, "size_bytes": INTEGER}
EXTERNAL_FIELDS = {"threads": INTEGER, "test": STRING, "n_prompt": INTEGER, "n_gen": INTEGER,
                   "batch": INTEGER, "mean_tps": NUMBER}
MARKERS = "osD^vP*X<>"
ROOF_STYLE = {"ls": (0, (1, 2)), "lw": 1}  # e2e rows' roofline_tps, when the file has them
ROOF_HANDLE = lambda: matplotlib.lines.Line2D([], [], color="0.3", **ROOF_STYLE)  # noqa: E731
LINESTYLES = ["-", "--", ":", "-."]


def fail(msg):
    sys.stderr.write("plot.py: " + msg + "\n")
    sys.exit(2)


def note(msg):
    sys.stderr.write("plot.py: " + msg + "\n")


def is_type(v, t):
    if t == STRING:
        return isinstance(v, str)
    if t == BOOL:
        return isinstance(v, bool)
    if isinstance(v, bool):
        return False
    if t == INTEGER:
        return isinstance(v, int) or (isinstance(v, float) and v.is_integer())
    return isinstance(v, (int, float)) and math.isfinite(v)


def check_row(path, where, row, fields):
    if not isinstance(row, dict):
        fail("%s: %s: expected an object, found %s" % (path, where, type(row).__name__))
    for key, t in fields.items():
        if key not in row:
            fail("%s: %s: field '%s' missing" % (path, where, key))
        if not is_type(row[key], t):
            fail("%s: %s: field '%s' must be %s, found %s" % (path, where, key, t, json.dumps(row[key])))


class Data:
    """The rows of one result file, whatever wrote it, split by kind."""

    def __init__(self, path):
        self.path = path
        self.doc, rows = self._read(path)
        self.env = self.doc.get("environment") if isinstance(self.doc.get("environment"), dict) else None
        self.sweeps, self.e2e, self.external = [], [], []
        skipped = 0
        for where, r, kind in rows:
            if kind == "sweep":
                # A failed or skipped benchmark keeps its row with "error" set and no timing.
                if isinstance(r, dict) and r.get("error"):
                    skipped += 1
                    continue
                check_row(path, where, r, SWEEP_FIELDS)
                parts = r.get("parts")
                if parts is not None and not (isinstance(parts, list) and parts
                                              and all(is_type(p, INTEGER) and p > 0 for p in parts)
                                              and sum(parts) == r["M"]):
                    fail("%s: %s: field 'parts' must be null or positive row counts adding up to M = %s, "
                         "found %s" % (path, where, r["M"], json.dumps(parts)))
                self.sweeps.append(r)
            elif kind == "e2e":
                check_row(path, where, r, E2E_FIELDS)
                self.e2e.append(r)
            elif kind == "e2e_external":
                check_row(path, where, r, EXTERNAL_FIELDS)
                self.external.append(r)
            if self.env is None and isinstance(r, dict) and isinstance(r.get("environment"), dict):
                self.env = r["environment"]
        if skipped:
            note("%s: %d sweep row%s with an error left out" % (path, skipped, "" if skipped == 1 else "s"))
        self.ceilings = self._ceilings()

    @staticmethod
    def _read(path):
        try:
            with open(path) as f:
                text = f.read()
        except OSError as e:
            fail("%s: cannot read: %s" % (path, e.strerror or e))
        try:
            doc = json.loads(text)
        except ValueError as e:
            # `-o jsonl`: one row per line.
            lines = [ln for ln in text.splitlines() if ln.strip()]
            try:
                rows = [json.loads(ln) for ln in lines]
            except ValueError:
                fail("%s: not valid JSON: %s" % (path, e))
            if not lines or not all(isinstance(r, dict) for r in rows):
                fail("%s: not valid JSON: %s" % (path, e))
            return {}, [("line %d" % (i + 1), r, Data._kind(r)) for i, r in enumerate(rows)]
        if isinstance(doc, dict) and any(k in doc for k in ("sweeps", "e2e", "checks")):
            # `tritbench run`
            rows = []
            for field, kind in (("sweeps", "sweep"), ("e2e", "e2e")):
                arr = doc.get(field, [])
                if not isinstance(arr, list):
                    fail("%s: field '%s' must be a list, found %s" % (path, field, type(arr).__name__))
                rows += [("%s[%d]" % (field, i), r, kind) for i, r in enumerate(arr)]
            return doc, rows
        if isinstance(doc, dict) and "results" in doc:
            # `tritbench kernels -o json` / `tritbench e2e -o json`
            if not isinstance(doc["results"], list):
                fail("%s: field 'results' must be a list, found %s" % (path, type(doc["results"]).__name__))
            return doc, [("results[%d]" % i, r, Data._kind(r)) for i, r in enumerate(doc["results"])]
        fail("%s: no field 'sweeps', 'e2e' or 'results' (expected the output of `tritbench run`, "
             "`tritbench kernels -o json` or `tritbench e2e -o json`)" % path)

    @staticmethod
    def _kind(r):
        if not isinstance(r, dict):
            return "sweep"  # check_row names the problem
        if "kind" in r:
            return r["kind"]
        return "e2e" if "samples_tps" in r or "mean_tps" in r else "sweep"

    def _ceilings(self):
        """threads -> {"read_gbps", "int8_peak_gops": {peak name: GOP/s}}.

        `kernels -o json` carries the whole roofline file ("roofline"); `run` files and jsonl rows
        carry, per sweep row, the ceilings that applied to it: collect those."""
        roof = self.doc.get("roofline")
        if isinstance(roof, dict) and isinstance(roof.get("ceilings"), list):
            out = {}
            for i, c in enumerate(roof["ceilings"]):
                check_row(self.path, "roofline.ceilings[%d]" % i, c, {"threads": INTEGER, "read_gbps": NUMBER})
                out[int(c["threads"])] = {"read_gbps": c["read_gbps"],
                                          "int8_peak_gops": dict(c.get("int8_peak_gops") or {})}
            return out
        out = {}
        for r in self.sweeps:
            rr = r.get("roofline")
            if not isinstance(rr, dict) or not is_type(rr.get("read_gbps"), NUMBER):
                continue
            c = out.setdefault(int(r["threads"]), {"read_gbps": rr["read_gbps"], "int8_peak_gops": {}})
            if isinstance(rr.get("int8_peak_name"), str) and is_type(rr.get("int8_peak_gops"), NUMBER) \
                    and rr["int8_peak_gops"] > 0:
                c["int8_peak_gops"][rr["int8_peak_name"]] = rr["int8_peak_gops"]
        return out

    def caption(self):
        env = self.env or {}
        cpu = env.get("cpu") or {}
        build = env.get("build") or {}
        parts = ["%s: %s, %s CPUs" % (env.get("host", "?"), cpu.get("model", "CPU unknown"),
                                      cpu.get("logical_cpus", "?")),
                 "tritbench %s (%s)" % (build.get("git_commit", "commit unknown"), build.get("compiler", "?"))]
        if not env:
            parts = ["machine and commit unknown (no 'environment' in the file)"]
        if self.doc.get("experiment"):
            parts.append("experiment %s, %s" % (self.doc["experiment"], self.doc.get("started", "")))
        roof = self.doc.get("roofline")
        if isinstance(roof, dict) and roof.get("measured_at"):
            parts.append("roofline measured " + roof["measured_at"])
        return " | ".join(parts)


def kernel_name(r):
    return r.get("kernel_ran") or r["kernel"]


def colors(names):
    """A distinct colour per name: tab10 up to 10 names, else tab20, tab20b and tab20c in turn
    (60 colours; a sweep over the whole registry has 27 rows)."""
    if len(names) <= 10:
        palette = [plt.get_cmap("tab10")(i) for i in range(10)]
    else:
        palette = [plt.get_cmap(m)(i) for m in ("tab20", "tab20b", "tab20c") for i in range(20)]
    return {n: palette[i % len(palette)] for i, n in enumerate(names)}


def side_legend(fig, handles, labels, title, axes_bottom=0.03):
    """A figure legend right of the panels, in as many columns as its height needs, and the panels
    laid out in what is left (an axes legend this tall made tight_layout squash every panel)."""
    fig_w, fig_h = fig.get_size_inches()
    rows_fit = max(1, int((fig_h - 0.6) / 0.19))
    ncol = max(1, math.ceil(len(labels) / rows_fit))
    longest = max((len(lbl) for lbl in labels), default=10)
    width_in = ncol * (0.062 * max(longest, len(title) // max(1, ncol)) + 0.55) + 0.15
    right = max(0.45, 1.0 - width_in / fig_w)
    fig.legend(handles, labels, loc="upper left", bbox_to_anchor=(right, 0.995), fontsize=8, ncol=ncol,
               title=title, title_fontsize=8, frameon=True)
    return right


def plain_number(v, _pos=None):
    if v <= 0:
        return ""
    if v >= 1e6:
        return human_count(v)
    return "%g" % v


def log_ticks(axis, fmt=plain_number):
    """Plain numbers (30, 200, 1.5M) instead of 3x10^1 on a log axis; over less than ~1.5
    decades, where few powers of ten are visible, the 2..9 multiples are labelled as well
    (decided when drawn, once the limits are final)."""
    axis.set_major_formatter(matplotlib.ticker.FuncFormatter(fmt))

    def minor(v, pos=None):
        lo, hi = axis.get_view_interval()
        return fmt(v, pos) if lo > 0 and math.log10(hi / lo) < 1.5 else ""

    axis.set_minor_formatter(matplotlib.ticker.FuncFormatter(minor))
    axis.set_tick_params(which="minor", labelsize=7)


def finish(fig, caption, out, rect_bottom=0.03, rect_right=1.0):
    # The caption wrapped to the figure's width (7 pt text: about 4 pt a character), the plots
    # raised by the lines it takes beyond the first.
    lines = textwrap.wrap(caption, max(40, int(fig.get_figwidth() * 72 / 4.0))) or [""]
    fig.text(0.01, 0.006, "\n".join(lines), ha="left", va="bottom", fontsize=7, color="0.3")
    extra = (len(lines) - 1) * 9.0 / (fig.get_figheight() * 72)
    fig.tight_layout(rect=(0, rect_bottom + extra, rect_right, 1))
    fig.savefig(out, dpi=110)
    plt.close(fig)


# --- kernel sweeps ------------------------------------------------------------------------------

def shape_dims(r):
    """'2560x2560', or '2560+640+640x2560' for a call over several matrices (bench.h Spec::parts)."""
    parts = r.get("parts") or [r["M"]]
    return "%sx%d" % ("+".join(str(p) for p in parts), r["K"])


def shape_key(r):
    """Rows of one group of bars: the same label and dimensions (a preset's q/k/v call and an
    explicit 3840x2560 matrix are different calls, and so are 2b4t.attn_q+attn_output and
    2b4t:calls.attn_output, timed in different sweeps)."""
    return (r.get("shape") or "", shape_dims(r))


def shape_label(r):
    s = r.get("shape") or ""
    short = s.split(".", 1)[1] if "." in s else s
    dims = shape_dims(r)
    if s.split(".", 1)[0].endswith(":calls"):
        short = "call " + short
    return dims if short in ("", dims) else "%s\n%s" % (short, dims)


def plot_time(data, rows, out):
    kernels = sorted({kernel_name(r) for r in rows})
    col = colors(kernels)
    # Cold before hot: a batch-1 sweep usually has both, and their bars must not share a panel.
    combos = sorted({(r["batch"], r["threads"], bool(r["hot"])) for r in rows})
    shapes = []
    for r in rows:
        key = shape_key(r)
        if key not in [s[0] for s in shapes]:
            shapes.append((key, shape_label(r)))
    # One panel per (batch, threads, hot), stacked; the legend right of them.
    panel_w = max(6.0, 0.14 * len(shapes) * len(kernels) + 1.5)
    fig, axes = plt.subplots(len(combos), 1, squeeze=False, figsize=(panel_w + 3.2, 3.0 * len(combos) + 0.6))
    width = 0.8 / len(kernels)
    for pi, (b, t, h) in enumerate(combos):
        ax = axes[pi][0]
        for ki, k in enumerate(kernels):
            xs, ys, lo, hi = [], [], [], []
            for si, (key, _) in enumerate(shapes):
                for r in rows:
                    if (kernel_name(r) == k and shape_key(r) == key and r["batch"] == b and r["threads"] == t
                            and bool(r["hot"]) == h):
                        y = r["median_seconds"] * 1e6
                        sd = (r.get("stddev_seconds") or 0) * 1e6
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
        ax.set_ylabel("GEMM time per call, us\n(median, log scale)", fontsize=9)
        ax.set_title("batch %d, %d thread%s, weights %s" % (
            b, t, "" if t == 1 else "s", "hot (in cache)" if h else "cold (rotating through DRAM)"),
            fontsize=10, loc="left")
        ax.grid(axis="y", which="major", alpha=0.35)
        ax.grid(axis="y", which="minor", alpha=0.12)
        ax.set_xlim(-0.5, len(shapes) - 0.5)
        log_ticks(ax.yaxis)
    axes[-1][0].set_xlabel("weight shape (M output rows x K inputs)", fontsize=9)
    seen = {}
    for a in axes[:, 0]:
        for hd, lbl in zip(*a.get_legend_handles_labels()):
            seen.setdefault(lbl, hd)
    right = side_legend(fig, list(seen.values()), list(seen.keys()), "kernel (as run)")
    finish(fig, data.caption() + " | whiskers: stddev over repetitions", out, 0.015, right)


def plot_roofline(data, rows, out):
    ceilings = data.ceilings
    threads = sorted({r["threads"] for r in rows})
    kernels = sorted({kernel_name(r) for r in rows})
    col = colors(kernels)
    fig, axes = plt.subplots(1, len(threads), squeeze=False, figsize=(6.6 * len(threads) + 2.6, 6.0))
    ai_all = [2.0 * r["M"] * r["K"] * r["batch"] / max(1, r["packed_bytes"]) for r in rows]
    lo, hi = min(ai_all) / 2, max(ai_all) * 2
    kernel_handles = {}
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
            # Ceilings are named in a legend of their own (close peaks made inline labels collide).
            styles = iter([(0, (5, 2)), (0, (3, 1, 1, 1)), (0, (1, 1)), (0, (8, 2, 2, 2)), (0, (2, 2))])
            for name in sorted(used, key=lambda n: -c["int8_peak_gops"].get(n, 0)):
                peak = c["int8_peak_gops"].get(name)
                if not peak:
                    continue
                ymax = max(ymax, peak)
                ax.axhline(peak, color="0.3", ls=next(styles, "--"), lw=1.1,
                           label="%s peak %.0f GOP/s" % (PEAK_LABEL.get(name, name), peak))
        # Kernels sharing an intensity are spread a little sideways so their points stay visible.
        for ki, k in enumerate(kernels):
            jitter = 1.0 + 0.5 * (ki - (len(kernels) - 1) / 2) / max(1, len(kernels))
            for hot in (False, True):
                pts = [r for r in rows if kernel_name(r) == k and r["threads"] == t and bool(r["hot"]) == hot]
                if not pts:
                    continue
                ax.scatter([jitter * 2.0 * r["M"] * r["K"] * r["batch"] / max(1, r["packed_bytes"]) for r in pts],
                           [r["gops"] for r in pts], s=26, color=col[k],
                           facecolors="none" if hot else col[k], marker="o" if not hot else "s",
                           label=k + (" (hot)" if hot else ""), zorder=3, edgecolors=col[k])
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_ylim(max(1e-6, min(r["gops"] for r in rows) / 2), ymax * 2.5)
        ax.set_xlim(lo, hi)
        log_ticks(ax.xaxis)
        log_ticks(ax.yaxis)
        ax.set_xlabel("arithmetic intensity, ops per packed weight byte (log)\n(8 x batch for 2-bit weights)",
                      fontsize=9)
        ax.set_ylabel("achieved GOP/s, 2 ops per weight x token (log)", fontsize=9)
        ax.set_title("%d thread%s%s" % (t, "" if t == 1 else "s",
                                       "" if c else " (no roofline in the file)"), fontsize=10)
        ax.grid(which="both", alpha=0.25)
        handles, labels = ax.get_legend_handles_labels()
        n_roof = sum(1 for lbl in labels if "GB/s" in lbl or "peak" in lbl)
        if n_roof:
            ax.add_artist(ax.legend(handles[:n_roof], labels[:n_roof], fontsize=7, loc="upper left",
                                    title="this machine's ceilings", title_fontsize=7, framealpha=0.9))
        for k in kernels:
            if any(kernel_name(r) == k and r["threads"] == t for r in rows):
                kernel_handles.setdefault(k, matplotlib.lines.Line2D([], [], ls="", marker="o", color=col[k]))
    # One entry per kernel (its colour), and one per marker: cold and hot share a colour.
    marks = {"cold weights (filled circle)": matplotlib.lines.Line2D([], [], ls="", marker="o", color="0.35"),
             "hot weights (open square)": matplotlib.lines.Line2D([], [], ls="", marker="s", color="0.35",
                                                                   markerfacecolor="none")}
    kernel_handles.update(marks)
    right = side_legend(fig, list(kernel_handles.values()), list(kernel_handles.keys()), "kernel (as run)")
    finish(fig, data.caption() + " | filled: cold weights (memory roof applies), open: hot", out, 0.03, right)


# --- end to end ---------------------------------------------------------------------------------

def phase_of(r):
    """(sort key, panel title) of an e2e row's phase: generation, batched prompt, or prompt in
    smaller batches (-b)."""
    if r["n_prompt"] > 0:
        if r["batch"] >= r["n_prompt"]:
            return (0, 0), "prompt processing, whole prompt per call"
        if r["batch"] == 1:
            return (1, 1), "prompt processing, one token per call (-b 1)"
        return (1, r["batch"]), "prompt processing, %d tokens per call (-b %d)" % (r["batch"], r["batch"])
    return (2, 0), "generation (one token per call)"


def e2e_series_label(r):
    if r.get("kind") == "e2e_external":
        return "%s (external)" % r.get("tool", "llama-bench")
    k = r["kernel"]
    ran = r.get("kernel_ran")
    return k if not ran or ran == k else "%s (ran %s)" % (k, ran)


def whiskers(pts):
    """stddev whiskers that stay above zero (the axes may be logarithmic)."""
    sd = [r.get("stddev_tps") or 0 for r in pts]
    return [[min(d, 0.9 * r["mean_tps"]) for d, r in zip(sd, pts)], sd]


def varying(rows, fn):
    return len({fn(r) for r in rows}) > 1


def tests_of(rows):
    names = sorted({r["test"] for r in rows}, key=lambda s: (s[:2], int(s[2:]) if s[2:].isdigit() else 0))
    return ", ".join(names)


def plot_threads(data, rows, out):
    phases = sorted({phase_of(r) for r in rows})
    multi_model = varying(rows, lambda r: (r.get("model"), r.get("output_type")))
    # The test (pp128, tg32, ...) joins the label only where one line would otherwise hold several
    # (the same model and kernel run with two prompt lengths); across models it may differ freely.
    groups = {}
    for r in rows:
        groups.setdefault((r.get("model"), r.get("output_type"), e2e_series_label(r), phase_of(r)), set()).add(r["test"])
    multi_test = any(len(tests) > 1 for tests in groups.values())

    def series_key(r):
        return (r.get("model", "?"), r.get("output_type", ""), e2e_series_label(r), r["test"] if multi_test else "")

    def series_label(key):
        model, otype, kernel, test = key
        parts = [kernel]
        if multi_model:
            parts.insert(0, model + (" " + otype + " output" if otype and varying(
                [x for x in rows if x.get("model") == model], lambda x: x.get("output_type")) else ""))
        if multi_test:
            parts.append(test)
        return ", ".join(parts)

    kernels = sorted({e2e_series_label(r) for r in rows})
    # Models (a model with two output matrix types counts twice) sorted by size; colour tells apart
    # whichever varies more (e2e-sizes: one kernel, many models), marker and line style the other.
    models = sorted({(r.get("model", "?"), r.get("output_type", "")) for r in rows},
                    key=lambda m: (min(r.get("params", 0) for r in rows if r.get("model", "?") == m[0]), m))
    by_model = len(models) > len(kernels)
    col = colors(models if by_model else kernels)
    threads = sorted({r["threads"] for r in rows})
    fig, axes = plt.subplots(1, len(phases), squeeze=False, figsize=(5.2 * len(phases) + 2.8, 4.6))
    any_roof = False
    for pi, (pkey, title) in enumerate(phases):
        ax = axes[0][pi]
        prow = [r for r in rows if phase_of(r)[0] == pkey]
        keys = sorted({series_key(r) for r in prow}, key=lambda k: (models.index(k[:2]), k[2:]))
        for key in keys:
            pts = sorted((r for r in prow if series_key(r) == key), key=lambda r: r["threads"])
            other = kernels.index(key[2]) if by_model else models.index(key[:2])
            colour = col[key[:2]] if by_model else col[key[2]]
            ax.errorbar([r["threads"] for r in pts], [r["mean_tps"] for r in pts],
                        yerr=whiskers(pts), color=colour,
                        marker=MARKERS[other % len(MARKERS)], ls=LINESTYLES[other % len(LINESTYLES)], lw=1.3, ms=5,
                        capsize=3, label=series_label(key))
            roof = [(r["threads"], r["roofline_tps"]) for r in pts if is_type(r.get("roofline_tps"), NUMBER)]
            if roof:
                any_roof = True
                ax.plot([x for x, _ in roof], [y for _, y in roof], color=colour, **ROOF_STYLE)
        ys = [r["mean_tps"] for r in prow if r["mean_tps"] > 0]
        if ys and max(ys) / min(ys) > 30:
            ax.set_yscale("log")
            log_ticks(ax.yaxis)
            ax.set_ylabel("tokens/s (mean of repetitions, log scale)", fontsize=9)
        else:
            ax.set_ylim(bottom=0)
            ax.set_ylabel("tokens/s (mean of repetitions)", fontsize=9)
        if threads[-1] / threads[0] > 8:
            ax.set_xscale("log", base=2)
        ax.set_xticks(threads)
        ax.set_xticklabels([str(t) for t in threads])
        ax.set_xlim(threads[0] - 0.3 if len(threads) < 5 else None, threads[-1] + 0.3 if len(threads) < 5 else None)
        ax.set_xlabel("threads", fontsize=9)
        ax.set_title("%s\n(%s)" % (title, tests_of(prow)), fontsize=10)
        ax.grid(which="major", alpha=0.35)
        ax.grid(which="minor", alpha=0.12)
    handles, labels = axes[0][-1].get_legend_handles_labels()
    seen = dict(zip(labels, handles))
    for a in axes[0][:-1]:
        for h, lbl in zip(*a.get_legend_handles_labels()):
            seen.setdefault(lbl, h)
    if any_roof:
        seen["roofline t/s (same colour)"] = ROOF_HANDLE()
    axes[0][-1].legend(list(seen.values()), list(seen.keys()), loc="upper left", bbox_to_anchor=(1.02, 1.0),
                       fontsize=8, title=("model, " if multi_model else "") + "kernel", title_fontsize=8)
    extra = " | whiskers: stddev over repetitions"
    if any_roof:
        extra += " | dotted: roofline t/s (generation: read bandwidth / bytes per token; prompt: int8 peak / ops per token)"
    finish(fig, data.caption() + extra, out, 0.04)


def human_bytes(b):
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if b >= scale:
            return "%.3g %s" % (b / scale, unit)
    return "%d B" % b


def human_count(n):
    for unit, scale in (("B", 1e9), ("M", 1e6), ("k", 1e3)):
        if n >= scale:
            return "%.3g%s" % (n / scale, unit)
    return str(n)


def size_rows(rows):
    """The rows of the phases measured on two or more models (a phase run on one model only, e.g.
    -b 1 on the smallest, has no trend over size to show)."""
    phases = {ph for ph in {phase_of(r) for r in rows} if len({r["params"] for r in rows if phase_of(r) == ph}) > 1}
    return [r for r in rows if phase_of(r) in phases]


def plot_sizes(data, rows, out):
    phases = sorted({phase_of(r) for r in rows})
    kernels = sorted({e2e_series_label(r) for r in rows})
    col = colors(kernels)
    threads = sorted({r["threads"] for r in rows})
    multi_out = varying(rows, lambda r: r.get("output_type"))

    def series_key(r):
        return (e2e_series_label(r), r["threads"], r.get("output_type", "") if multi_out else "")

    def series_label(key):
        k, t, otype = key
        return "%s, %d thread%s%s" % (k, t, "" if t == 1 else "s", ", %s output" % otype if otype else "")

    # Models by parameters: the x positions, named on the top axis.
    models = {}
    for r in rows:
        models.setdefault(r["params"], (r["model"], r["size_bytes"]))
    xs_all = sorted(models)
    fig, axes = plt.subplots(1, len(phases), squeeze=False, figsize=(5.6 * len(phases) + 3.0, 5.2))
    any_roof = False
    for pi, (pkey, title) in enumerate(phases):
        ax = axes[0][pi]
        prow = [r for r in rows if phase_of(r)[0] == pkey]
        for key in sorted({series_key(r) for r in prow}):
            pts = sorted((r for r in prow if series_key(r) == key), key=lambda r: (r["params"], r["test"]))
            ti = threads.index(key[1])
            ax.errorbar([r["params"] for r in pts], [r["mean_tps"] for r in pts],
                        yerr=whiskers(pts), color=col[key[0]],
                        marker=MARKERS[ti % len(MARKERS)], ls=LINESTYLES[ti % len(LINESTYLES)], lw=1.3, ms=5,
                        capsize=3, label=series_label(key))
            roof = [(r["params"], r["roofline_tps"]) for r in pts if is_type(r.get("roofline_tps"), NUMBER)]
            if roof:
                any_roof = True
                ax.plot([x for x, _ in roof], [y for _, y in roof], color=col[key[0]], **ROOF_STYLE)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlim(xs_all[0] / 1.6, xs_all[-1] * 1.6)
        log_ticks(ax.xaxis, lambda v, _p=None: human_count(v) if v > 0 else "")
        log_ticks(ax.yaxis)
        ax.set_xlabel("model parameters (log scale)", fontsize=9)
        ax.set_ylabel("tokens/s (mean of repetitions, log scale)", fontsize=9)
        ax.grid(which="major", alpha=0.35)
        ax.grid(which="minor", alpha=0.1)
        # Top axis: which model sits where, and its file size; close neighbours alternate rows.
        top = ax.twiny()
        top.set_xscale("log")
        top.set_xlim(ax.get_xlim())
        top.set_xticks(xs_all)
        labels, prev = [], None
        for i, x in enumerate(xs_all):
            name, size = models[x]
            close = prev is not None and math.log10(x / prev) < 0.35
            # (labels sit on their baseline: trailing blank lines lift one above its neighbour)
            labels.append("%s\n%s" % (name, human_bytes(size)) + ("\n\n" if close and i % 2 else ""))
            prev = x
        top.set_xticklabels(labels, fontsize=7)
        top.xaxis.set_minor_locator(matplotlib.ticker.NullLocator())  # (minorticks_off would reach the shared y)
        top.tick_params(axis="x", length=3)
        top.set_title("%s (%s)" % (title, tests_of(prow)), fontsize=10)
    seen = {}
    for a in axes[0]:
        for h, lbl in zip(*a.get_legend_handles_labels()):
            seen.setdefault(lbl, h)
    if any_roof:
        seen["roofline t/s (same colour)"] = ROOF_HANDLE()
    axes[0][-1].legend(list(seen.values()), list(seen.keys()), loc="upper left", bbox_to_anchor=(1.02, 1.0),
                       fontsize=8, title="kernel, threads", title_fontsize=8)
    extra = " | top axis: model, size as bitnet.cpp's I2_S GGUF | whiskers: stddev"
    if any_roof:
        extra += " | dotted: roofline t/s"
    finish(fig, data.caption() + extra, out, 0.04)


# --- main ---------------------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                 epilog="The PNGs: " + __doc__.split("named after the JSON:")[1].split("A plot whose")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("json", help="a `tritbench run` result, or `tritbench kernels|e2e -o json|jsonl` output")
    ap.add_argument("--out", help="directory for the PNGs (default: the JSON's directory)")
    ap.add_argument("--kernels", help="comma-separated globs of kernel names to keep (sweeps and e2e rows)")
    a = ap.parse_args()
    data = Data(a.json)
    sweeps, e2e = data.sweeps, data.e2e + data.external
    if a.kernels:
        globs = a.kernels.split(",")
        keep = lambda name: any(fnmatch.fnmatch(name, g) for g in globs)  # noqa: E731
        sweeps = [r for r in sweeps if keep(kernel_name(r)) or keep(r["kernel"])]
        e2e = [r for r in e2e if r.get("kind") == "e2e_external" or keep(r["kernel"]) or keep(kernel_name(r))]
        if not sweeps and not [r for r in e2e if r.get("kind") != "e2e_external"]:
            fail("%s: --kernels %s matches no row" % (a.json, a.kernels))
    out_dir = a.out or os.path.dirname(a.json) or "."
    os.makedirs(out_dir, exist_ok=True)
    base = os.path.splitext(os.path.basename(a.json))[0]
    png = lambda kind: os.path.join(out_dir, "%s-%s.png" % (base, kind))  # noqa: E731
    own = [r for r in e2e if r.get("kind") != "e2e_external"]
    n_models = len({r["params"] for r in own})
    sized = size_rows(own)
    n_threads = len({r["threads"] for r in e2e})
    plots = [
        ("time", plot_time, sweeps, "no kernel sweep rows"),
        ("roofline", plot_roofline, sweeps, "no kernel sweep rows"),
        ("threads", plot_threads, e2e if n_threads > 1 else [],
         "no e2e rows" if not e2e else "e2e rows cover one thread count (%d)" % e2e[0]["threads"]),
        ("sizes", plot_sizes, sized,
         "no e2e rows" if not own else "e2e rows cover one model (%s)" % own[0]["model"] if n_models == 1
         else "no test (pp/tg, batch) was run on two or more models"),
    ]
    for kind, fn, rows, why in plots:
        if not rows:
            note("%s: skipped the %s plot: %s" % (a.json, kind, why))
            continue
        fn(data, rows, png(kind))
        print(png(kind))


if __name__ == "__main__":
    main()
