// tritbench tune: search a kernel row's tile space on given shapes, batches and thread counts, and
// store the fastest tile per (row, shape class, batch class, threads, weights) in this machine's tuning
// file, which later `tritbench kernels` runs (and anyone calling choose_tile) use.
#include <algorithm>
#include <ctime>
#include <iostream>
#include <set>

#include "harness/commands.h"
#include "harness/lib/args.h"
#include "harness/lib/bench.h"
#include "harness/lib/sweep.h"
#include "harness/lib/table.h"
#include "harness/lib/tuning_io.h"
#include "kernels/registry.h"
#include "kernels/runtime/tuning.h"

#ifndef TRITBENCH_SOURCE_DIR
#define TRITBENCH_SOURCE_DIR "."
#endif

namespace tritbench::cli {

namespace {

std::string utc_now() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

struct Timed {
  TileConfig tile;  // effective
  double seconds = 0;  // per call: the fastest repetition (see --help)
};

// Times each tile (deduplicated by the tile the kernel actually runs); returns them in order.
std::vector<Timed> time_tiles(const KernelInfo& k, const sweep::Shape& s, std::int64_t N, int threads,
                              bool hot, const std::vector<TileConfig>& tiles, const bench::Options& opts) {
  std::vector<bench::Spec> specs;
  std::vector<TileConfig> seen;
  for (const TileConfig& t : tiles) {
    const TileConfig e = effective_tile(k, t, s.M, s.K, N);
    if (std::find(seen.begin(), seen.end(), e) != seen.end()) continue;
    seen.push_back(e);
    specs.push_back({&k, s.label, s.M, s.K, N, threads, hot, e, "override", s.parts});
  }
  std::vector<Timed> out;
  for (const auto& r : bench::run(specs, opts)) {
    if (!r.error.empty()) throw std::runtime_error(std::string(k.name) + " tile " + r.spec.tile.str() + ": " + r.error);
    out.push_back({r.tile, r.gemm.min});
  }
  return out;
}

}  // namespace

int cmd_tune(int argc, char** argv) {
  Args args(argc, argv, 2, {"-k", "--shapes", "-b", "-t", "-r", "--min-time", "--out"},
            {"--hot", "--help", "--dry-run", "-v"});
  if (args.has("--help")) {
    std::cout << R"(usage: tritbench tune -k KERNELS --shapes LIST [-b BATCH] [-t THREADS] [-r REPS]
                      [--min-time S] [--hot] [--out FILE] [--dry-run] [-v]

Searches the tile space of tunable kernel rows (row block R x column block C micro-tiles, loop
order, cache block rows; `tritbench list` shows which rows are tunable) on each shape, batch
size and thread count, and stores the fastest tile per (row, shape class, batch class, threads,
weights) in results/tuning/<machine>.json ($TRITBENCH_RESULTS_DIR/tuning/ if set), merged with
what the file already holds and written atomically. `tritbench kernels` then runs those rows with
the tuned tiles and says so (tile_source "tuned"). A shape class rounds M and K up to powers of
two, a batch class rounds N up to a power of two; shapes of one class are tuned once. Weights
"dram" (rotating copies, the default) or "cache" (--hot): a GEMV's best prefetch distance from
DRAM is not its best in cache, so a `kernels` run uses only the entries tuned the way it runs.

Search: every candidate tile the row proposes for the shape and batch (timed like `kernels`:
Google Benchmark repetitions, rotating weights unless --hot), then, if the best keeps a block of
rows in L1 (par=0), its block size halved, doubled and quadrupled. Candidates are compared by
their fastest repetition: on a shared machine the median of a short run also measures the
other processes, the minimum much less so.

  -k KERNELS     rows, families or globs (e.g. i2s = the family's best row here)
  --shapes LIST  model presets or MxK, as for `tritbench kernels`
  -b BATCH       batch sizes (default: 1)
  -t THREADS     thread counts (default: 1)
  -r REPS        repetitions per candidate (default: 3)
  --min-time S   seconds per repetition (default: 0.03)
  --hot          time with the weights in cache (one copy), stored as weights "cache"
  --out FILE     write the tuning file here instead
  --dry-run      search and print, write nothing
  -v             print every candidate's time

examples:
  tritbench tune -k i2s --shapes 2b4t -b 1,8,128 -t 1,2
  tritbench tune -k 'i2s__*' --shapes 2560x2560 -b 128 --hot
)";
    return 0;
  }
  if (!args.has("-k")) throw UsageError("-k is required (the rows or family to tune)");
  if (!args.has("--shapes")) throw UsageError("--shapes is required");
  const auto selected = resolve_kernel_list(args.get("-k"));
  const auto shapes = sweep::parse_shapes(args.get("--shapes"));
  const auto batches = args.ints("-b", "1", 1, 1 << 16);
  const auto threads = args.ints("-t", "1", 1, 1024);
  const bool hot = args.has("--hot"), verbose = args.has("-v");
  bench::Options opts;
  opts.repetitions = static_cast<int>(args.integer("-r", 3, 1, 1000));
  opts.min_time = args.number("--min-time", 0.03, 0.0001, 100);
  opts.progress = false;

  std::vector<const KernelInfo*> rows;
  for (const KernelInfo* k : selected) {
    if (!runnable(*k)) {
      std::cerr << "skipping " << k->name << ": " << why_not_runnable(k->isa) << "\n";
    } else if (!k->tiles) {
      std::cerr << "skipping " << k->name << ": no tile parameters\n";
    } else if (!tunable(*k)) {
      std::cerr << "skipping " << k->name << ": a fixed-tile row (" << k->tile.str()
                << "); tune its family's default row instead\n";
    } else {
      rows.push_back(k);
    }
  }
  if (rows.empty()) throw UsageError("no tunable row selected (-k " + args.get("-k") + ")");

  // Existing entries are kept (and replaced where this run tunes the same key); tuning data of
  // this machine is not consulted while measuring: candidates are explicit tiles.
  sweep::MachineOptions mo;
  mo.roofline = false;
  mo.tuning = false;
  const sweep::MachineData md = sweep::load_machine_data(TRITBENCH_SOURCE_DIR "/results", mo, std::cerr);
  const std::string path = args.get("--out", md.tuning_path);
  const roofline::Machine machine = roofline::this_machine();
  TuningTable table;
  {
    auto loaded = tuning_io::load(path, machine);
    if (loaded.table) table = std::move(*loaded.table);
    else if (loaded.found)
      std::cerr << "tune: " << loaded.note << "; it will be replaced\n";
  }

  Table out({"kernel", "shape class", "tuned on", "N", "t", "weights", "default tile", "default us", "best tile",
             "best us", "speedup", "tried"});
  for (const KernelInfo* k : rows) {
    std::set<std::string> classes;
    for (const auto& s : shapes) {
      if (!classes.insert(shape_class(s.M, s.K)).second) {
        std::cerr << k->name << " " << s.label << ": shape class " << shape_class(s.M, s.K)
                  << " already tuned in this run\n";
        continue;
      }
      for (auto N : batches)
        for (auto t : threads) {
          const int T = static_cast<int>(t);
          // The row's default first; a candidate that spells the same tile is not timed twice.
          std::vector<TileConfig> tiles = {k->tile};
          for (const auto& c : k->tiles->candidates(s.M, s.K, N))
            if (std::none_of(tiles.begin(), tiles.end(), [&](const TileConfig& x) { return x.str() == c.str(); }))
              tiles.push_back(c);
          std::cerr << "tune " << k->name << " " << bench::mxk(s.M, s.K, s.parts) << " N=" << N << " t=" << T << ": "
                    << tiles.size() << " candidates\n";
          std::vector<Timed> timed = time_tiles(*k, s, N, T, hot, tiles, opts);
          const double default_s = timed.front().seconds;
          auto best = *std::min_element(timed.begin(), timed.end(),
                                        [](const Timed& a, const Timed& b) { return a.seconds < b.seconds; });
          int tried = static_cast<int>(timed.size());
          if (best.tile.parallel == 0 && best.tile.block_rows > 0 && N > 1) {
            // Refine the cache block of the best activation-parallel tile.
            const int rb = std::max(1, best.tile.row_block), br = best.tile.block_rows;
            std::vector<TileConfig> more;
            for (int f : {-2, 2, 4}) {
              TileConfig c = best.tile;
              c.block_rows = std::max(rb, (f < 0 ? br / 2 : br * f) / rb * rb);
              if (c.block_rows != br && k->tiles->check(c).empty()) more.push_back(c);
            }
            for (const auto& x : time_tiles(*k, s, N, T, hot, more, opts)) {
              timed.push_back(x);
              if (x.seconds < best.seconds) best = x;
            }
            tried = static_cast<int>(timed.size());
          }
          if (verbose)
            for (const auto& x : timed) std::cerr << "    " << x.tile.str() << ": " << x.seconds * 1e6 << " us\n";
          TuningEntry e;
          e.kernel = std::string(k->name);
          e.shape_class = shape_class(s.M, s.K);
          e.batch_class = batch_class(N);
          e.threads = T;
          e.hot = hot;
          e.tile = best.tile;
          e.M = s.M;
          e.K = s.K;
          e.N = N;
          e.seconds = best.seconds;
          e.default_seconds = default_s;
          e.candidates = tried;
          e.measured_at = utc_now();
          table.put(e);
          out.add({e.kernel, e.shape_class, bench::mxk(s.M, s.K, s.parts), std::to_string(N),
                   std::to_string(T), hot ? "cache" : "dram", timed.front().tile.str(), fmt(default_s * 1e6, 1),
                   best.tile.str(), fmt(best.seconds * 1e6, 1), fmt(default_s / best.seconds, 2) + "x",
                   std::to_string(tried)});
        }
    }
  }
  std::cout << out.console();
  if (args.has("--dry-run")) {
    std::cout << "\n--dry-run: nothing written\n";
    return 0;
  }
  tuning_io::save(path, table, machine);
  std::cout << "\nwrote " << path << " (" << table.entries.size() << " entries)\n";
  return 0;
}

}  // namespace tritbench::cli
