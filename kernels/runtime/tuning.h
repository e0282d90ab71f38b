#pragma once
// Tuned tiles: which TileConfig a tunable kernel row runs for a shape, batch and thread count.
//
// `tritbench tune` measures a row's tile space (KernelInfo::tiles) on given shapes, batches and
// thread counts and stores the fastest tile per (row, shape class, batch class, threads, where the
// weights were: streamed from DRAM or kept in cache) as data
// (results/tuning/<machine>.json, read and written by harness/lib/tuning_io.h). Whoever packs
// weights asks choose_tile() which tile to pack with; it answers with the tile and where it came
// from, which results report:
//   override  the caller forced a tile (`--tile`)
//   tuned     an entry of the active tuning table matched
//   default   the registry row's own tile (zero fields: the kernel's defaults)
// A row is tunable when it has a TileSpace that proposes candidates; fixed-tile rows (bitnet.cpp's
// tilings, i2s_ap/i2s_wp) have a TileSpace without candidates: --tile overrides them, tuning data
// never changes them. A tunable row's registry tile (e.g. TL's kb=240) is its default.
//
// Classes, so that tuning on one shape carries to its neighbours: the shape class rounds M and K
// up to powers of two ("m4096.k4096" for 2560 x 2560), the batch class rounds N up to a power of
// two (a tile tuned at N = 128 serves N = 65..128). The weights' placement is part of the key
// because the best tile of a DRAM-bound call (a GEMV's prefetch distance, its streams) is not the
// best in cache: a tile tuned with `--hot` serves only `--hot` runs, and models (whose weights
// stream from DRAM) use the DRAM entries.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "kernels/api.h"

namespace tritbench {

// "rb=4,cb=4,par=1,br=32,kb=64" (any subset, any order; "default" or "" = all zero). Throws
// std::invalid_argument naming the bad item and the accepted keys.
TileConfig parse_tile(std::string_view s);

std::string shape_class(std::int64_t M, std::int64_t K);
std::int64_t batch_class(std::int64_t N);

struct TuningEntry {
  std::string kernel;  // registry row name
  std::string shape_class;
  std::int64_t batch_class = 1;
  int threads = 1;
  bool hot = false;  // tuned with the weights in cache (`tune --hot`); false: rotating, from DRAM
  TileConfig tile;  // the fastest tile found (as the kernel ran it: every field explicit)
  // Where it was measured, and how (seconds per call: the fastest repetition).
  std::int64_t M = 0, K = 0, N = 0;
  double seconds = 0, default_seconds = 0;
  int candidates = 0;
  std::string measured_at;
};

struct TuningTable {
  std::vector<TuningEntry> entries;
  // The entry for this row and call, or nullptr.
  const TuningEntry* find(std::string_view kernel, std::int64_t M, std::int64_t K, std::int64_t N,
                          int threads, bool hot) const;
  // Adds e, replacing an entry with the same key.
  void put(const TuningEntry& e);
};

// The tuning data kernels consult (none until set; the CLI loads this machine's file).
void set_active_tuning(std::shared_ptr<const TuningTable> t);
std::shared_ptr<const TuningTable> active_tuning();

struct TileChoice {
  TileConfig tile;
  std::string source;  // "override" | "tuned" | "default"
};
bool tunable(const KernelInfo& k);

// The tile to pack row k with for an M x K weight, N tokens per call and `threads` threads, the
// weights in cache (hot) or streamed from DRAM. Throws std::invalid_argument if the override is
// not a tile of this row.
TileChoice choose_tile(const KernelInfo& k, std::int64_t M, std::int64_t K, std::int64_t N, int threads,
                       bool hot, const TileConfig* override_tile = nullptr);

// The tile the row's kernel actually runs for `packed_with` on this call (zero fields resolved).
TileConfig effective_tile(const KernelInfo& k, const TileConfig& packed_with, std::int64_t M,
                          std::int64_t K, std::int64_t N);

}  // namespace tritbench
