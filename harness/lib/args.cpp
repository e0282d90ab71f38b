#include "harness/lib/args.h"

#include <algorithm>
#include <cerrno>
#include <cstdlib>

namespace tritbench {

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::size_t i = 0;
  while (i <= s.size()) {
    std::size_t j = s.find(sep, i);
    if (j == std::string::npos) j = s.size();
    if (j > i) out.push_back(s.substr(i, j - i));
    i = j + 1;
  }
  return out;
}

namespace {
std::int64_t parse_one(const std::string& flag, const std::string& s, std::int64_t lo, std::int64_t hi) {
  errno = 0;
  char* end = nullptr;
  const long long v = std::strtoll(s.c_str(), &end, 10);
  if (s.empty() || *end != '\0' || errno == ERANGE)
    throw UsageError(flag + ": '" + s + "' is not an integer");
  if (v < lo || v > hi)
    throw UsageError(flag + ": " + s + " is out of range (expected " + std::to_string(lo) + ".." +
                     std::to_string(hi) + ")");
  return v;
}
}  // namespace

std::vector<std::int64_t> parse_int_list(const std::string& flag, const std::string& s,
                                         std::int64_t lo, std::int64_t hi) {
  std::vector<std::int64_t> out;
  for (const std::string& part : split(s, ',')) {
    const std::size_t dash = part.find('-', 1);
    if (dash == std::string::npos) {
      out.push_back(parse_one(flag, part, lo, hi));
      continue;
    }
    std::string rest = part.substr(dash + 1);
    char op = '+';
    std::int64_t step = 1;
    if (const std::size_t o = rest.find_first_of("*+"); o != std::string::npos) {
      op = rest[o];
      step = parse_one(flag, rest.substr(o + 1), op == '*' ? 2 : 1, hi);
      rest = rest.substr(0, o);
    }
    const std::int64_t a = parse_one(flag, part.substr(0, dash), lo, hi);
    const std::int64_t b = parse_one(flag, rest, lo, hi);
    if (b < a) throw UsageError(flag + ": empty range '" + part + "'");
    for (std::int64_t v = a; v <= b; v = op == '*' ? v * step : v + step) {
      out.push_back(v);
      if (out.size() > 10000) throw UsageError(flag + ": range '" + part + "' is too long");
    }
  }
  if (out.empty()) throw UsageError(flag + ": empty list");
  return out;
}

Args::Args(int argc, char** argv, int first, const std::vector<std::string>& with_value,
           const std::vector<std::string>& switches) {
  for (int i = first; i < argc; ++i) {
    std::string a = argv[i];
    std::string value;
    bool has_inline = false;
    if (a.rfind("--", 0) == 0) {
      if (const std::size_t eq = a.find('='); eq != std::string::npos) {
        value = a.substr(eq + 1);
        a = a.substr(0, eq);
        has_inline = true;
      }
    }
    if (std::find(with_value.begin(), with_value.end(), a) != with_value.end()) {
      if (!has_inline) {
        if (i + 1 >= argc) throw UsageError(a + " needs a value");
        value = argv[++i];
      }
      values_[a] = value;
    } else if (std::find(switches.begin(), switches.end(), a) != switches.end()) {
      values_[a] = std::string(1, '1');  // (not = "1": GCC 12 -Wrestrict false positive)
    } else if (a.size() > 1 && a[0] == '-') {
      throw UsageError("unknown option " + a + " (see --help)");
    } else {
      positional_.push_back(a);
    }
  }
}

bool Args::has(const std::string& flag) const { return values_.count(flag) != 0; }

std::string Args::get(const std::string& flag, const std::string& def) const {
  auto it = values_.find(flag);
  return it == values_.end() ? def : it->second;
}

std::vector<std::int64_t> Args::ints(const std::string& flag, const std::string& def,
                                     std::int64_t min_value, std::int64_t max_value) const {
  return parse_int_list(flag, get(flag, def), min_value, max_value);
}

std::int64_t Args::integer(const std::string& flag, std::int64_t def, std::int64_t min_value,
                           std::int64_t max_value) const {
  if (!has(flag)) return def;
  return parse_one(flag, get(flag), min_value, max_value);
}

double Args::number(const std::string& flag, double def, double min_value, double max_value) const {
  if (!has(flag)) return def;
  const std::string s = get(flag);
  char* end = nullptr;
  const double v = std::strtod(s.c_str(), &end);
  if (s.empty() || *end != '\0' || !(v >= min_value && v <= max_value))
    throw UsageError(flag + ": '" + s + "' is not a number in [" + std::to_string(min_value) + ", " +
                     std::to_string(max_value) + "]");
  return v;
}

}  // namespace tritbench
