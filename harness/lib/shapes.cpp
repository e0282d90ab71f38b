#include "harness/lib/shapes.h"

#include <stdexcept>

#include "harness/lib/args.h"
#include "models/config.h"

namespace tritbench::bench {

std::vector<Shape> parse_shapes(const std::string& list) {
  std::vector<Shape> out;
  for (const std::string& item : split(list, ',')) {
    if (const auto* cfg = models::find_preset(item)) {
      for (const auto& ls : models::linear_shapes(*cfg)) out.push_back({cfg->name + "." + ls.label, ls.M, ls.K});
      continue;
    }
    const std::size_t x = item.find('x');
    if (x == std::string::npos)
      throw std::invalid_argument("shape '" + item + "' is neither a model preset (" + models::preset_names() +
                                  ") nor MxK");
    const auto M = parse_int_list("shape", item.substr(0, x), 1, 1 << 20);
    const auto K = parse_int_list("shape", item.substr(x + 1), 1, 1 << 20);
    if (M.size() != 1 || K.size() != 1) throw std::invalid_argument("shape '" + item + "' is not MxK");
    out.push_back({item, M[0], K[0]});
  }
  return out;
}

}  // namespace tritbench::bench
