// tritbench list | sysinfo
#include <iostream>

#include "harness/commands.h"
#include "harness/lib/args.h"
#include "harness/lib/env.h"
#include "harness/lib/table.h"
#include "kernels/registry.h"

namespace tritbench::cli {

int cmd_list(int argc, char** argv) {
  Args args(argc, argv, 2, {}, {"--json", "--help"});
  if (args.has("--help")) {
    std::cout << "usage: tritbench list [--json]\n\nEvery registry row: name, family, format, bits per "
                 "weight, required ISA,\nexact or approximate, tiles, and whether this CPU runs it.\n";
    return 0;
  }
  if (args.has("--json")) {
    nlohmann::json rows = nlohmann::json::array();
    for (const auto& k : registry())
      rows.push_back({{"name", std::string(k.name)},
                      {"family", std::string(k.family)},
                      {"format", std::string(k.format)},
                      {"bits_per_weight", k.bits_per_weight},
                      {"isa", std::string(isa_name(k.isa))},
                      {"exact", k.exact()},
                      {"error_bound", k.exact() ? nlohmann::json(nullptr)
                                                : nlohmann::json{{"step_units", k.bound.step_units},
                                                                 {"nmse", k.bound.nmse}}},
                      {"row_multiple", k.row_multiple},
                      {"k_multiple", k.k_multiple},
                      {"tile", k.tile.str()},
                      {"runnable", runnable(k)},
                      {"why_not", why_not_runnable(k.isa)},
                      {"description", std::string(k.description)}});
    std::cout << rows.dump(2) << "\n";
    return 0;
  }
  Table t({"kernel", "format", "bits/w", "isa", "exactness", "K pad", "runs here"});
  for (const auto& k : registry()) {
    std::string ex = k.exact() ? "exact" : "approx (nmse<=" + fmt(k.bound.nmse, 4) + ")";
    t.add({std::string(k.name), std::string(k.format), fmt(k.bits_per_weight, 2), std::string(isa_name(k.isa)),
           ex, std::to_string(k.k_multiple), runnable(k) ? "yes" : "no: " + why_not_runnable(k.isa)});
  }
  std::cout << t.console();
  const CpuInfo& c = cpu_info();
  std::cout << "\nCPU: " << c.model << " (ISA level " << isa_name(c.level)
            << (c.capped ? ", capped by TRITBENCH_ISA=" + c.cap_source : std::string()) << ")\n";
  return 0;
}

int cmd_sysinfo(int argc, char** argv) {
  Args args(argc, argv, 2, {}, {"--json", "--help"});
  if (args.has("--help")) {
    std::cout << "usage: tritbench sysinfo [--json]\n\nCPU model, features, ISA level, cores, caches, "
                 "memory, compiler, build flags, git commit.\n";
    return 0;
  }
  const nlohmann::json env = environment_json();
  if (args.has("--json")) {
    std::cout << env.dump(2) << "\n";
    return 0;
  }
  const auto& cpu = env["cpu"];
  std::cout << "host        " << env["host"].get<std::string>() << " (" << env["os"].get<std::string>() << ")\n"
            << "cpu         " << cpu["model"].get<std::string>() << " [" << cpu["vendor"].get<std::string>()
            << " family " << cpu["family"] << " model " << cpu["model_id"] << "]\n"
            << "isa level   " << cpu["isa_level"].get<std::string>();
  if (!cpu["isa_capped_by_env"].get<std::string>().empty())
    std::cout << " (hardware: " << cpu["hardware_isa_level"].get<std::string>()
              << ", capped by TRITBENCH_ISA)";
  std::cout << "\nfeatures   ";
  for (const auto& f : cpu["features"]) std::cout << ' ' << f.get<std::string>();
  std::cout << "\ncpus        " << cpu["logical_cpus"] << "\ncaches     ";
  for (const auto& c : cpu["caches"])
    std::cout << " L" << c["level"] << (c["type"] == "Data" ? "d" : c["type"] == "Instruction" ? "i" : "")
              << " " << c["bytes"].get<std::int64_t>() / 1024 << " KiB"
              << (c["shared_by"].get<int>() > 0 ? " (x" + std::to_string(c["shared_by"].get<int>()) + " cpus)" : "");
  const auto& b = env["build"];
  std::cout << "\nmemory      " << fmt(env["memory_bytes"].get<double>() / (1 << 30), 1) << " GiB\n"
            << "tritbench   " << b["version"].get<std::string>() << " commit " << b["git_commit"].get<std::string>()
            << "\ncompiler    " << b["compiler"].get<std::string>() << "\nflags       "
            << b["build_type"].get<std::string>() << ": " << b["flags"].get<std::string>()
            << " (+ per-file ISA flags)\n";
  return 0;
}

}  // namespace tritbench::cli
