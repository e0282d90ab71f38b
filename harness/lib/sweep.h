#pragma once
// What `tritbench kernels` and `tritbench tune` share: the shape list syntax, and the per-machine
// data they load before timing anything (the roofline and the tuning file).

#include <cstdint>
#include <iosfwd>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "harness/lib/roofline.h"
#include "kernels/runtime/tuning.h"

namespace tritbench::sweep {

struct Shape {
  std::string label;  // "2b4t.attn_q+attn_output", "2b4t:calls.attn_qkv", "2560x2560"
  std::int64_t M, K;
  // A call over several matrices of the same K (the model's fused q/k/v and gate/up calls): their
  // row counts, summing to M. Empty: one matrix.
  std::vector<std::int64_t> parts;
};
// Comma list of items: a model preset (models/config.h: every BitLinear shape of the model, each
// once), a preset with ":calls" (the calls a layer makes, q/k/v and gate/up as one call each),
// MxK, or M1+M2+...xK (one call over matrices of M1, M2, ... rows). Throws UsageError naming the
// bad item.
std::vector<Shape> parse_shapes(const std::string& s);

// The machine data a sweep runs with. results_dir: $TRITBENCH_RESULTS_DIR or the source tree's
// results/ (the CLI passes that fallback).
struct MachineData {
  std::string results_dir;
  std::optional<roofline::Roofline> roofline;
  std::string roofline_path;
  std::shared_ptr<const TuningTable> tuning;  // also made the active tuning
  std::string tuning_path;  // the file read (or that tune writes)
};
struct MachineOptions {
  bool roofline = true;  // load (or measure once) the roofline
  bool remeasure = false;
  bool tuning = true;  // load and activate the tuning file
  std::string tuning_file;  // explicit path instead of results/tuning/<machine>.json
};
MachineData load_machine_data(const std::string& fallback_results_dir, const MachineOptions& o,
                              std::ostream& log);

}  // namespace tritbench::sweep
