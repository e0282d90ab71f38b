#include "harness/lib/sweep.h"

#include <algorithm>
#include <ostream>

#include "harness/lib/args.h"
#include "harness/lib/tuning_io.h"
#include "kernels/runtime/gemm.h"
#include "models/config.h"

namespace tritbench::sweep {

std::vector<Shape> parse_shapes(const std::string& s) {
  std::vector<Shape> out;
  const std::string calls_suffix = ":calls";
  for (const std::string& item : split(s, ',')) {
    if (const auto* cfg = models::find_preset(item)) {
      for (const auto& ls : models::linear_shapes(*cfg))
        out.push_back({cfg->name + "." + ls.label, ls.M, ls.K, {}});
      continue;
    }
    if (item.size() > calls_suffix.size() && item.ends_with(calls_suffix)) {
      const std::string name = item.substr(0, item.size() - calls_suffix.size());
      const auto* cfg = models::find_preset(name);
      if (!cfg)
        throw UsageError("--shapes: '" + item + "': '" + name + "' is not a model preset (" +
                         models::preset_names() + ")");
      for (const auto& lc : models::linear_calls(*cfg)) {
        Shape sh{cfg->name + ":calls." + lc.label, 0, lc.K, {}};
        for (std::int64_t m : lc.parts) sh.M += m;
        if (lc.parts.size() > 1) sh.parts = lc.parts;
        out.push_back(std::move(sh));
      }
      continue;
    }
    const std::size_t x = item.find('x');
    if (x == std::string::npos)
      throw UsageError("--shapes: '" + item + "' is neither a model preset (" +
                       models::preset_names() +
                       ", each also as NAME:calls) nor MxK or M1+M2+...xK");
    // Whole numbers only: M1+M2+... before the x (no empty term), K after it.
    const std::string ms = item.substr(0, x), ks = item.substr(x + 1);
    auto number = [](const std::string& t) {
      return !t.empty() &&
             std::all_of(t.begin(), t.end(), [](char ch) { return ch >= '0' && ch <= '9'; });
    };
    std::vector<std::string> terms;
    for (std::size_t b = 0;;) {
      const std::size_t e = ms.find('+', b);
      terms.push_back(ms.substr(b, e == std::string::npos ? std::string::npos : e - b));
      if (e == std::string::npos) break;
      b = e + 1;
    }
    if (!number(ks) || !std::all_of(terms.begin(), terms.end(), number))
      throw UsageError("--shapes: '" + item + "' is not MxK or M1+M2+...xK");
    const auto K = parse_int_list("--shapes", ks, 1, 1 << 20);
    Shape sh{item, 0, K[0], {}};
    for (const std::string& m : terms) {
      const auto M = parse_int_list("--shapes", m, 1, 1 << 20);
      sh.parts.push_back(M[0]);
      sh.M += M[0];
    }
    if (sh.parts.size() > kMaxMultiWeights)
      throw UsageError("--shapes: '" + item + "' has " + std::to_string(sh.parts.size()) +
                       " matrices in one call (at most " + std::to_string(kMaxMultiWeights) + ")");
    if (sh.parts.size() == 1) sh.parts.clear();
    out.push_back(std::move(sh));
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
