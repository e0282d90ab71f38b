#include "harness/lib/experiment.h"

#include <fstream>
#include <set>
#include <sstream>
#include <stdexcept>

namespace tritbench::experiment {

namespace {

using nlohmann::json;

struct Ctx {
  const std::string& path;
  [[noreturn]] void fail(const std::string& field, const std::string& what) const {
    throw std::invalid_argument(path + ": " + field + ": " + what);
  }
};

void only_keys(const Ctx& c, const json& j, const std::string& field, const std::set<std::string>& allowed) {
  if (!j.is_object()) c.fail(field, "expected an object");
  for (auto it = j.begin(); it != j.end(); ++it)
    if (!allowed.count(it.key())) {
      std::string list;
      for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
      c.fail(field.empty() ? it.key() : field + "." + it.key(), "unknown key (expected one of: " + list + ")");
    }
}

std::string str(const Ctx& c, const json& j, const std::string& field) {
  if (!j.is_string() || j.get<std::string>().empty()) c.fail(field, "expected a non-empty string");
  return j.get<std::string>();
}

std::int64_t integer(const Ctx& c, const json& j, const std::string& field, std::int64_t lo, std::int64_t hi) {
  if (!j.is_number_integer()) c.fail(field, "expected an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
  const auto v = j.get<std::int64_t>();
  if (v < lo || v > hi) c.fail(field, std::to_string(v) + " is out of range [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
  return v;
}

std::vector<std::int64_t> ints(const Ctx& c, const json& j, const std::string& field, std::int64_t lo, std::int64_t hi) {
  std::vector<std::int64_t> out;
  if (j.is_number_integer()) return {integer(c, j, field, lo, hi)};
  if (!j.is_array() || j.empty()) c.fail(field, "expected an integer or a non-empty list of integers");
  for (std::size_t i = 0; i < j.size(); ++i) out.push_back(integer(c, j[i], field + "[" + std::to_string(i) + "]", lo, hi));
  return out;
}

double number(const Ctx& c, const json& j, const std::string& field, double lo, double hi) {
  if (!j.is_number() || j.get<double>() < lo || j.get<double>() > hi)
    c.fail(field, "expected a number in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
  return j.get<double>();
}

bool boolean(const Ctx& c, const json& j, const std::string& field) {
  if (!j.is_boolean()) c.fail(field, "expected true or false");
  return j.get<bool>();
}

// "a,b" or ["a", "b"] -> "a,b"
std::string list_string(const Ctx& c, const json& j, const std::string& field) {
  if (j.is_string()) return str(c, j, field);
  if (!j.is_array() || j.empty()) c.fail(field, "expected a string or a non-empty list of strings");
  std::string out;
  for (std::size_t i = 0; i < j.size(); ++i) {
    if (i) out += ',';
    out += str(c, j[i], field + "[" + std::to_string(i) + "]");
  }
  return out;
}

}  // namespace

Experiment parse(const json& j, const std::string& path) {
  const Ctx c{path};
  only_keys(c, j, "", {"name", "description", "checks", "sweeps", "e2e"});
  Experiment e;
  e.path = path;
  std::string stem = path.substr(path.find_last_of('/') + 1);
  if (const auto dot = stem.rfind('.'); dot != std::string::npos) stem = stem.substr(0, dot);
  e.name = j.contains("name") ? str(c, j["name"], "name") : stem;
  if (e.name.find_first_of("/\\ ") != std::string::npos || e.name.find("..") != std::string::npos)
    c.fail("name", "'" + e.name + "' must not contain '/', '\\', spaces or '..' (it names a results folder)");
  if (j.contains("description")) e.description = str(c, j["description"], "description");
  if (j.contains("checks")) {
    const json& ch = j["checks"];
    only_keys(c, ch, "checks", {"kernels", "e2e"});
    if (ch.contains("kernels")) e.check_kernels = boolean(c, ch["kernels"], "checks.kernels");
    if (ch.contains("e2e")) {
      const json& ce = ch["e2e"];
      if (ce.is_boolean()) {
        e.check_e2e = ce.get<bool>();
      } else {
        only_keys(c, ce, "checks.e2e", {"model", "steps"});
        e.check_e2e = true;
        if (ce.contains("model")) e.check_e2e_model = str(c, ce["model"], "checks.e2e.model");
        if (ce.contains("steps")) e.check_e2e_steps = integer(c, ce["steps"], "checks.e2e.steps", 1, 4096);
      }
    }
  }
  if (j.contains("sweeps")) {
    if (!j["sweeps"].is_array()) c.fail("sweeps", "expected a list");
    for (std::size_t i = 0; i < j["sweeps"].size(); ++i) {
      const json& s = j["sweeps"][i];
      const std::string f = "sweeps[" + std::to_string(i) + "]";
      only_keys(c, s, f,
                {"kernels", "shapes", "batch", "threads", "hot", "repetitions", "min_time",
                 "read_now", "read_calls", "anatomy"});
      Sweep w;
      if (s.contains("kernels")) w.kernels = list_string(c, s["kernels"], f + ".kernels");
      if (s.contains("shapes")) w.shapes = list_string(c, s["shapes"], f + ".shapes");
      if (s.contains("batch")) w.batch = ints(c, s["batch"], f + ".batch", 1, 1 << 16);
      if (s.contains("threads")) w.threads = ints(c, s["threads"], f + ".threads", 1, 1024);
      if (s.contains("hot")) w.hot = boolean(c, s["hot"], f + ".hot");
      if (s.contains("repetitions")) w.repetitions = static_cast<int>(integer(c, s["repetitions"], f + ".repetitions", 1, 1000));
      if (s.contains("min_time")) w.min_time = number(c, s["min_time"], f + ".min_time", 0.001, 100);
      if (s.contains("read_now")) w.read_now = boolean(c, s["read_now"], f + ".read_now");
      if (s.contains("read_calls")) w.read_calls = boolean(c, s["read_calls"], f + ".read_calls");
      if (s.contains("anatomy")) w.anatomy = boolean(c, s["anatomy"], f + ".anatomy");
      e.sweeps.push_back(w);
    }
  }
  if (j.contains("e2e")) {
    if (!j["e2e"].is_array()) c.fail("e2e", "expected a list");
    for (std::size_t i = 0; i < j["e2e"].size(); ++i) {
      const json& s = j["e2e"][i];
      const std::string f = "e2e[" + std::to_string(i) + "]";
      only_keys(c, s, f, {"model", "seed", "kernels", "prompt", "gen", "batch", "threads", "repetitions", "output_type"});
      E2e r;
      if (!s.contains("model")) c.fail(f + ".model", "missing (expected \"synthetic:PRESET\" or a model file)");
      r.model = str(c, s["model"], f + ".model");
      if (s.contains("seed")) r.seed = static_cast<std::uint64_t>(integer(c, s["seed"], f + ".seed", 0, INT64_MAX));
      if (s.contains("kernels")) r.kernels = list_string(c, s["kernels"], f + ".kernels");
      if (s.contains("prompt")) r.prompt = ints(c, s["prompt"], f + ".prompt", 0, 1 << 16);
      if (s.contains("gen")) r.gen = ints(c, s["gen"], f + ".gen", 0, 1 << 16);
      if (s.contains("batch")) r.batch = ints(c, s["batch"], f + ".batch", 0, 1 << 16);
      if (s.contains("threads")) r.threads = ints(c, s["threads"], f + ".threads", 1, 1024);
      if (s.contains("repetitions")) r.repetitions = static_cast<int>(integer(c, s["repetitions"], f + ".repetitions", 1, 1000));
      if (s.contains("output_type")) r.output_type = str(c, s["output_type"], f + ".output_type");
      e.e2e.push_back(r);
    }
  }
  if (!e.check_kernels && !e.check_e2e && e.sweeps.empty() && e.e2e.empty())
    c.fail("(top level)", "the experiment does nothing (expected checks, sweeps or e2e)");
  return e;
}

Experiment load(const std::string& path) {
  std::ifstream f(path);
  if (!f) throw std::invalid_argument(path + ": cannot open the experiment file");
  json j;
  try {
    j = json::parse(f);
  } catch (const json::parse_error& e) {
    throw std::invalid_argument(path + ": not valid JSON: " + e.what());
  }
  return parse(j, path);
}

}  // namespace tritbench::experiment
