#include "kernels/runtime/tuning.h"

#include <charconv>
#include <mutex>
#include <stdexcept>
#include <tuple>

namespace tritbench {

namespace {

std::mutex g_mu;
std::shared_ptr<const TuningTable> g_active;

std::int64_t pow2_at_least(std::int64_t v) {
  std::int64_t p = 1;
  while (p < v) p *= 2;
  return p;
}

}  // namespace

TileConfig parse_tile(std::string_view s) {
  TileConfig t;
  if (s.empty() || s == "default") return t;
  std::size_t i = 0;
  while (i <= s.size()) {
    std::size_t j = s.find(',', i);
    if (j == std::string_view::npos) j = s.size();
    const std::string_view item = s.substr(i, j - i);
    i = j + 1;
    if (item.empty()) continue;
    const std::size_t eq = item.find('=');
    const std::string_view key = item.substr(0, eq);
    int v = 0;
    const std::string_view val = eq == std::string_view::npos ? std::string_view{} : item.substr(eq + 1);
    const auto [p, ec] = std::from_chars(val.data(), val.data() + val.size(), v);
    if (eq == std::string_view::npos || ec != std::errc() || p != val.data() + val.size() || v < 0)
      throw std::invalid_argument("tile '" + std::string(s) + "': '" + std::string(item) +
                                  "' is not KEY=N with N a non-negative integer");
    if (key == "rb") t.row_block = v;
    else if (key == "cb") t.col_block = v;
    else if (key == "kb") t.k_block = v;
    else if (key == "par") t.parallel = v;
    else if (key == "br") t.block_rows = v;
    else if (key == "pf") t.prefetch = v;
    else if (key == "st") t.streams = v;
    else
      throw std::invalid_argument("tile '" + std::string(s) + "': unknown key '" + std::string(key) +
                                  "' (expected rb, cb, kb, par, br, pf or st)");
  }
  return t;
}

std::string shape_class(std::int64_t M, std::int64_t K) {
  std::string s = "m";  // appended piecewise: GCC 12 warns (-Wrestrict) on "m" + std::string
  s += std::to_string(pow2_at_least(M));
  s += ".k";
  s += std::to_string(pow2_at_least(K));
  return s;
}

std::int64_t batch_class(std::int64_t N) { return pow2_at_least(N); }

namespace {
// The key a tuning entry is filed under: one entry per row, shape class, batch class, thread count
// and weight temperature.
auto key_of(const TuningEntry& e) {
  return std::tie(e.kernel, e.shape_class, e.batch_class, e.threads, e.hot);
}
}  // namespace

const TuningEntry* TuningTable::find(std::string_view kernel, std::int64_t M, std::int64_t K,
                                     std::int64_t N, int threads, bool hot) const {
  const std::string sc = shape_class(M, K);
  const std::int64_t bc = batch_class(N);
  const auto want = std::tie(kernel, sc, bc, threads, hot);
  for (const auto& e : entries)
    if (key_of(e) == want) return &e;
  return nullptr;
}

void TuningTable::put(const TuningEntry& e) {
  for (auto& x : entries)
    if (key_of(x) == key_of(e)) {
      x = e;
      return;
    }
  entries.push_back(e);
}

void set_active_tuning(std::shared_ptr<const TuningTable> t) {
  std::lock_guard<std::mutex> lock(g_mu);
  g_active = std::move(t);
}

std::shared_ptr<const TuningTable> active_tuning() {
  std::lock_guard<std::mutex> lock(g_mu);
  return g_active;
}

TileChoice choose_tile(const KernelInfo& k, std::int64_t M, std::int64_t K, std::int64_t N, int threads,
                       bool hot, const TileConfig* override_tile) {
  if (override_tile) {
    if (!(*override_tile == k.tile)) {
      if (!k.tiles)
        throw std::invalid_argument("kernel " + std::string(k.name) + " has no tile parameters (tile " +
                                    override_tile->str() + " requested)");
      if (std::string why = k.tiles->check(*override_tile); !why.empty())
        throw std::invalid_argument("kernel " + std::string(k.name) + ": " + why);
    }
    return {*override_tile, "override"};
  }
  if (tunable(k))
    if (auto t = active_tuning())
      if (const TuningEntry* e = t->find(k.name, M, K, N, threads, hot))
        if (k.tiles->check(e->tile).empty()) return {e->tile, "tuned"};
  return {k.tile, "default"};
}

bool tunable(const KernelInfo& k) { return k.tiles && !k.tiles->candidates(4096, 4096, 8).empty(); }

TileConfig effective_tile(const KernelInfo& k, const TileConfig& packed_with, std::int64_t M,
                          std::int64_t K, std::int64_t N) {
  return k.tiles ? k.tiles->effective(packed_with, M, K, N) : packed_with;
}

}  // namespace tritbench
