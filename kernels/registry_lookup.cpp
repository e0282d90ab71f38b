#include <algorithm>
#include <stdexcept>

#include "kernels/registry.h"

namespace tritbench {

const KernelInfo* find_kernel(std::string_view name) {
  for (const auto& k : registry())
    if (k.name == name) return &k;
  return nullptr;
}

bool runnable(const KernelInfo& k) { return isa_runnable(k.isa); }

bool glob_match(std::string_view p, std::string_view s) {
  // Iterative wildcard match with backtracking to the last '*'.
  std::size_t pi = 0, si = 0, star = std::string_view::npos, mark = 0;
  while (si < s.size()) {
    if (pi < p.size() && (p[pi] == '?' || p[pi] == s[si])) {
      ++pi;
      ++si;
    } else if (pi < p.size() && p[pi] == '*') {
      star = pi++;
      mark = si;
    } else if (star != std::string_view::npos) {
      pi = star + 1;
      si = ++mark;
    } else {
      return false;
    }
  }
  while (pi < p.size() && p[pi] == '*') ++pi;
  return pi == p.size();
}

std::vector<const KernelInfo*> resolve_kernels(std::string_view sel) {
  std::vector<const KernelInfo*> out;
  if (sel == "all") {
    for (const auto& k : registry()) out.push_back(&k);
    return out;
  }
  if (const KernelInfo* k = find_kernel(sel)) return {k};
  if (sel.find_first_of("*?") != std::string_view::npos) {
    for (const auto& k : registry())
      if (glob_match(sel, k.name)) out.push_back(&k);
  } else {
    const KernelInfo* best = nullptr;
    bool family_exists = false;
    for (const auto& k : registry()) {
      if (k.family != sel) continue;
      family_exists = true;
      // Among runnable rows of the family, the highest ISA level; the first such row wins ties,
      // so the registry order states the family's default variant.
      if (runnable(k) && (!best || static_cast<int>(k.isa) > static_cast<int>(best->isa))) best = &k;
    }
    if (best) return {best};
    if (family_exists)
      throw std::invalid_argument("kernel family '" + std::string(sel) +
                                  "' has no row this CPU can run (see `tritbench list`)");
  }
  if (out.empty()) {
    std::string known;
    for (const auto& k : registry()) known += "\n  " + std::string(k.name);
    throw std::invalid_argument("unknown kernel '" + std::string(sel) +
                                "': expected a row name, a family, a glob or 'all'; rows:" + known);
  }
  return out;
}

std::vector<const KernelInfo*> resolve_kernel_list(std::string_view sels) {
  std::vector<const KernelInfo*> out;
  std::size_t i = 0;
  while (i <= sels.size()) {
    std::size_t j = sels.find(',', i);
    if (j == std::string_view::npos) j = sels.size();
    std::string_view s = sels.substr(i, j - i);
    if (!s.empty())
      for (const KernelInfo* k : resolve_kernels(s))
        if (std::find(out.begin(), out.end(), k) == out.end()) out.push_back(k);
    i = j + 1;
  }
  if (out.empty()) throw std::invalid_argument("no kernel selected (empty -k list)");
  return out;
}

std::string TileConfig::str() const {
  std::string s;
  auto add = [&](const char* n, int v) {
    if (v == 0) return;
    if (!s.empty()) s += ',';
    s += n;
    s += '=';
    s += std::to_string(v);
  };
  add("rb", row_block);
  add("cb", col_block);
  add("kb", k_block);
  add("par", parallel);
  add("br", block_rows);
  add("pf", prefetch);
  add("st", streams);
  return s.empty() ? "default" : s;
}

}  // namespace tritbench
