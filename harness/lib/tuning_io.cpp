#include "harness/lib/tuning_io.h"

#include <filesystem>
#include <fstream>
#include <stdexcept>

#include "harness/lib/io.h"
#include "kernels/registry.h"

namespace tritbench::tuning_io {

namespace {
constexpr const char* kSchema = "tritbench.tuning/2";
// Entries without the weights' placement (a --hot tuning could not be told from a DRAM one).
constexpr const char* kSchemaBefore = "tritbench.tuning/1";
}  // namespace

std::string file_path(const std::string& results_dir, const roofline::Machine& m) {
  return results_dir + "/tuning/" + roofline::machine_slug(m) + ".json";
}

nlohmann::json to_json(const TuningTable& t, const roofline::Machine& m) {
  nlohmann::json entries = nlohmann::json::array();
  for (const auto& e : t.entries)
    entries.push_back({{"kernel", e.kernel},
                       {"shape_class", e.shape_class},
                       {"batch_class", e.batch_class},
                       {"threads", e.threads},
                       {"weights", e.hot ? "cache" : "dram"},
                       {"tile", e.tile.str()},
                       {"tuned_on", {{"M", e.M}, {"K", e.K}, {"N", e.N}}},
                       {"best_seconds", e.seconds},
                       {"default_best_seconds", e.default_seconds},
                       {"speedup_over_default", e.seconds > 0 ? e.default_seconds / e.seconds : 0},
                       {"candidates", e.candidates},
                       {"measured_at", e.measured_at}});
  return {{"schema", kSchema},
          {"machine", {{"host", m.host}, {"cpu_model", m.cpu_model}, {"logical_cpus", m.logical_cpus}}},
          {"key", "kernel row x shape class (M, K rounded up to powers of two) x batch class (N rounded "
                  "up to a power of two) x threads x weights (dram: rotating copies streamed from memory; "
                  "cache: one copy, tune --hot)"},
          {"entries", entries}};
}

TuningTable from_json(const nlohmann::json& j, const std::string& what, roofline::Machine* machine) {
  auto fail = [&](const std::string& where, const std::string& msg) -> void {
    throw std::invalid_argument(what + ": " + where + ": " + msg);
  };
  if (!j.is_object() || j.value("schema", "") != kSchema)
    fail("field 'schema'", std::string("expected \"") + kSchema + "\"");
  TuningTable t;
  try {
    if (machine) {
      const auto& m = j.at("machine");
      machine->host = m.at("host").get<std::string>();
      machine->cpu_model = m.at("cpu_model").get<std::string>();
      machine->logical_cpus = m.at("logical_cpus").get<int>();
    }
  } catch (const nlohmann::json::exception& e) {
    fail("field 'machine'", std::string("expected {host, cpu_model, logical_cpus}: ") + e.what());
  }
  if (!j.contains("entries") || !j["entries"].is_array()) fail("field 'entries'", "expected an array");
  int i = 0;
  for (const auto& x : j["entries"]) {
    const std::string where = "entries[" + std::to_string(i++) + "]";
    TuningEntry e;
    std::string weights;
    try {
      e.kernel = x.at("kernel").get<std::string>();
      e.shape_class = x.at("shape_class").get<std::string>();
      e.batch_class = x.at("batch_class").get<std::int64_t>();
      e.threads = x.at("threads").get<int>();
      weights = x.at("weights").get<std::string>();
      e.tile = parse_tile(x.at("tile").get<std::string>());
      if (x.contains("tuned_on")) {
        e.M = x["tuned_on"].value("M", std::int64_t{0});
        e.K = x["tuned_on"].value("K", std::int64_t{0});
        e.N = x["tuned_on"].value("N", std::int64_t{0});
      }
      e.seconds = x.value("best_seconds", 0.0);
      e.default_seconds = x.value("default_best_seconds", 0.0);
      e.candidates = x.value("candidates", 0);
      e.measured_at = x.value("measured_at", "");
    } catch (const nlohmann::json::exception& ex) {
      fail(where, std::string("expected kernel, shape_class, batch_class, threads, weights and tile: ") + ex.what());
    } catch (const std::invalid_argument& ex) {
      fail(where + " field 'tile'", ex.what());
    }
    if (e.batch_class < 1 || e.threads < 1) fail(where, "batch_class and threads must be >= 1");
    if (weights != "dram" && weights != "cache")
      fail(where + " field 'weights'", "expected \"dram\" or \"cache\", got \"" + weights + "\"");
    e.hot = weights == "cache";
    // A row this build does not have may belong to another build: kept, never used. A row that
    // exists must accept the tile, or the file is wrong.
    if (const KernelInfo* k = find_kernel(e.kernel)) {
      if (!k->tiles) fail(where + " field 'kernel'", e.kernel + " has no tile parameters");
      if (std::string why = k->tiles->check(e.tile); !why.empty()) fail(where + " field 'tile'", why);
    }
    t.entries.push_back(e);
  }
  return t;
}

Loaded load(const std::string& path, const roofline::Machine& m) {
  Loaded out;
  std::ifstream f(path);
  if (!f) {
    out.note = "no tuning file " + path;
    return out;
  }
  out.found = true;
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(f);
  } catch (const nlohmann::json::exception& e) {
    throw std::invalid_argument(path + ": not valid JSON: " + e.what());
  }
  if (j.is_object() && j.value("schema", "") == kSchemaBefore) {
    out.note = path + " is a " + kSchemaBefore + " file, written before tuning recorded where the weights were "
               "(DRAM or cache): not used; `tritbench tune` rewrites it";
    return out;
  }
  roofline::Machine fm;
  TuningTable t = from_json(j, path, &fm);
  if (!(fm == m)) {
    out.note = path + " was tuned on another machine (" + fm.host + ", " + fm.cpu_model + ", " +
               std::to_string(fm.logical_cpus) + " CPUs): not used";
    return out;
  }
  out.table = std::move(t);
  return out;
}

void save(const std::string& path, const TuningTable& t, const roofline::Machine& m) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  write_file_atomic(path, to_json(t, m).dump(2) + "\n");
}

}  // namespace tritbench::tuning_io
