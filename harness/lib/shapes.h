#pragma once
// GEMM shapes for sweeps: model presets expand to their distinct BitLinear shapes.

#include <cstdint>
#include <string>
#include <vector>

namespace tritbench::bench {

struct Shape {
  std::string label;  // "2b4t.ffn_down" or "MxK"
  std::int64_t M, K;
};

// "2b4t,large,4096x4096": presets (models/config.h) or MxK; throws std::invalid_argument.
std::vector<Shape> parse_shapes(const std::string& list);

}  // namespace tritbench::bench
