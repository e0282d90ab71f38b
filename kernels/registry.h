#pragma once
// The one table of kernels. Tests, benchmarks, `tritbench list/check/kernels` and the model all
// loop over it; adding a kernel is one folder plus rows in registry.cpp.

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "kernels/api.h"

namespace tritbench {

std::span<const KernelInfo> registry();

// The row with exactly this name, or nullptr.
const KernelInfo* find_kernel(std::string_view name);

// Resolves a user's kernel selector to rows, in registry order:
//   - an exact row name                          -> that row (runnable or not: the caller reports)
//   - a glob with * or ? ("i2s_*", "*__avx2")    -> every matching row
//   - a family name ("i2s", "naive")             -> the family's best runnable row (highest ISA)
//   - "all"                                      -> every row
// Throws std::invalid_argument listing the known names when nothing matches.
std::vector<const KernelInfo*> resolve_kernels(std::string_view selector);
// Comma-separated list of selectors; duplicates removed, order kept.
std::vector<const KernelInfo*> resolve_kernel_list(std::string_view selectors);

bool runnable(const KernelInfo& k);

bool glob_match(std::string_view pattern, std::string_view s);

}  // namespace tritbench
