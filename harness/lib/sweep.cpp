#include "harness/lib/sweep.h"

#include <ostream>

#include "harness/lib/args.h"
#include "harness/lib/tuning_io.h"
#include "models/config.h"

namespace tritbench::sweep {

std::vector<Shape> parse_shapes(const std::string& s) {
  std::vector<Shape> out;
  for (const std::string& item : split(s, ',')) {
    if (const auto* cfg = models::find_preset(item)) {
      for (const auto& ls : models::linear_shapes(*cfg)) out.push_back({cfg->name + "." + ls.label, ls.M, ls.K});
      continue;
    }
    const std::size_t x = item.find('x');
    if (x == std::string::npos)
      throw UsageError("--shapes: '" + item + "' is neither a model preset (" + models::preset_names() +
                       ") nor MxK");
    const auto M = parse_int_list("--shapes", item.substr(0, x), 1, 1 << 20);
    const auto K = parse_int_list("--shapes", item.substr(x + 1), 1, 1 << 20);
    if (M.size() != 1 || K.size() != 1) throw UsageError("--shapes: '" + item + "' is not MxK");
    out.push_back({item, M[0], K[0]});
  }
  if (out.empty()) throw UsageError("--shapes: no shape given");
  return out;
}

MachineData load_machine_data(const std::string& fallback_results_dir, const MachineOptions& o,
                              std::ostream& log) {
  MachineData d;
  d.results_dir = roofline::results_dir(fallback_results_dir);
  const roofline::Machine m = roofline::this_machine();
  if (o.roofline) {
    bool measured = false;
    d.roofline = roofline::load_or_measure(d.results_dir, o.remeasure, {}, &log, &measured);
    d.roofline_path = roofline::file_path(d.results_dir, m);
    if (!measured)
      log << "roofline: " << d.roofline_path << " (measured " << d.roofline->measured_at
          << "; --remeasure to redo)\n";
  }
  d.tuning_path = o.tuning_file.empty() ? tuning_io::file_path(d.results_dir, m) : o.tuning_file;
  if (o.tuning) {
    auto loaded = tuning_io::load(d.tuning_path, m);
    if (loaded.table) {
      d.tuning = std::make_shared<const TuningTable>(std::move(*loaded.table));
      log << "tuning: " << d.tuning_path << " (" << d.tuning->entries.size() << " entries)\n";
    } else if (!o.tuning_file.empty() || loaded.found) {
      log << "tuning: " << loaded.note << "\n";
    }
  }
  set_active_tuning(d.tuning);
  return d;
}

}  // namespace tritbench::sweep
