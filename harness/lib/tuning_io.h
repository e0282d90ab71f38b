#pragma once
// The tuning file of a machine: results/tuning/<host>-<cpu>.json (same machine key as the
// roofline, harness/lib/roofline.h). Written atomically by `tritbench tune`, read by every
// `tritbench kernels` run on that machine (kernels/runtime/tuning.h says how it is used).

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "harness/lib/roofline.h"
#include "kernels/runtime/tuning.h"

namespace tritbench::tuning_io {

// <results_dir>/tuning/<machine_slug>.json
std::string file_path(const std::string& results_dir, const roofline::Machine& m);

nlohmann::json to_json(const TuningTable& t, const roofline::Machine& m);
// Throws std::invalid_argument naming `what`, the entry and the field on malformed input, or an
// entry whose kernel row exists but does not accept the stored tile.
TuningTable from_json(const nlohmann::json& j, const std::string& what, roofline::Machine* machine);

struct Loaded {
  std::optional<TuningTable> table;  // empty: no file, another machine's, or an older schema's
  bool found = false;  // the file exists (when it is not used, note says why)
  std::string note;  // why it was not used, for the user
};
Loaded load(const std::string& path, const roofline::Machine& m);
void save(const std::string& path, const TuningTable& t, const roofline::Machine& m);

}  // namespace tritbench::tuning_io
