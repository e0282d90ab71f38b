// tritbench list | sysinfo
#include <algorithm>
#include <iostream>

#include "harness/commands.h"
#include "harness/lib/args.h"
#include "harness/lib/env.h"
#include "harness/lib/roofline.h"
#include "harness/lib/table.h"
#include "kernels/registry.h"
#include "kernels/runtime/tuning.h"

#ifndef TRITBENCH_SOURCE_DIR
#define TRITBENCH_SOURCE_DIR "."
#endif

namespace tritbench::cli {

namespace {

int print_roofline(const Args& args) {
  roofline::MeasureOptions opts;
  opts.max_threads = static_cast<int>(args.integer("-t", 0, 0, 1024));
  bool measured = false;
  const std::string dir = roofline::results_dir(TRITBENCH_SOURCE_DIR "/results");
  const roofline::Roofline r =
      roofline::load_or_measure(dir, args.has("--remeasure"), opts, &std::cerr, &measured);
  if (args.has("--json")) {
    std::cout << r.to_json().dump(2) << "\n";
    return 0;
  }
  std::cout << (measured ? "measured now" : "measured " + r.measured_at + " (--remeasure to redo)")
            << ": " << roofline::file_path(dir, r.machine) << "\n"
            << "bandwidth over " << r.array_bytes / (1 << 20) << " MiB with " << r.read_kernel
            << " loads, best of " << r.passes << " passes; read = the best of one, two and four\n"
            << "sequential streams per thread (each thread's part read whole, or its halves or\n"
            << "quarters in alternation); int8 peaks in GOP/s (2 ops per product)\n\n";
  std::vector<std::string> peaks;
  for (const auto& c : r.by_threads)
    for (const auto& [k, v] : c.int8_gops)
      if (std::find(peaks.begin(), peaks.end(), k) == peaks.end()) peaks.push_back(k);
  std::vector<std::string> header = {"threads",   "read GB/s", "1 stream",  "2 streams",
                                     "4 streams", "copy GB/s", "triad GB/s"};
  for (const auto& p : peaks) header.push_back(p);
  Table t(header);
  for (const auto& c : r.by_threads) {
    std::vector<std::string> row = {std::to_string(c.threads), fmt(c.read_gbps, 1),
                                    fmt(c.read_one_stream_gbps, 1), fmt(c.read_two_streams_gbps, 1),
                                    fmt(c.read_four_streams_gbps, 1), fmt(c.copy_gbps, 1),
                                    fmt(c.triad_gbps, 1)};
    for (const auto& p : peaks) row.push_back(c.int8_gops.count(p) ? fmt(c.int8_gops.at(p), 0) : "");
    t.add(row);
  }
  std::cout << t.console();
  return 0;
}

}  // namespace

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
                      {"tunable", tunable(k)},
                      {"runnable", runnable(k)},
                      {"why_not", why_not_runnable(k.isa)},
                      {"description", std::string(k.description)}});
    std::cout << rows.dump(2) << "\n";
    return 0;
  }
  Table t({"kernel", "format", "bits/w", "isa", "exactness", "K pad", "tile", "runs here"});
  for (const auto& k : registry()) {
    std::string ex = k.exact() ? "exact" : "approx (nmse<=" + fmt(k.bound.nmse, 4) + ")";
    t.add({std::string(k.name), std::string(k.format), fmt(k.bits_per_weight, 2), std::string(isa_name(k.isa)),
           ex, std::to_string(k.k_multiple),
           !k.tiles            ? "-"
           : !tunable(k)         ? k.tile.str()
           : k.tile == TileConfig{} ? "tunable"
                                    : "tunable, " + k.tile.str(),
           runnable(k) ? "yes" : "no: " + why_not_runnable(k.isa)});
  }
  std::cout << t.console();
  const CpuInfo& c = cpu_info();
  std::cout << "\nCPU: " << c.model << " (ISA level " << isa_name(c.level)
            << (c.capped ? ", capped by TRITBENCH_ISA=" + c.cap_source : std::string()) << ")\n";
  return 0;
}

int cmd_sysinfo(int argc, char** argv) {
  Args args(argc, argv, 2, {"-t"}, {"--json", "--help", "--roofline", "--remeasure"});
  if (args.has("--help")) {
    std::cout << "usage: tritbench sysinfo [--json] [--roofline [--remeasure] [-t MAX_THREADS]]\n\n"
                 "CPU model, features, ISA level, cores, caches, memory, compiler, build flags, git "
                 "commit.\n\n"
                 "  --roofline    the machine's ceilings: read/copy/triad bandwidth over arrays far\n"
                 "                larger than the LLC and the int8 multiply-add peak of each ISA, at\n"
                 "                1..T threads. Measured once (a few seconds) and saved to\n"
                 "                results/roofline/<host>-<cpu>.json ($TRITBENCH_RESULTS_DIR/roofline/\n"
                 "                if set); later runs on the same machine reuse it.\n"
                 "  --remeasure   measure again and overwrite the saved file\n"
                 "  -t N          measure 1..N threads (default: the logical CPU count)\n\n"
                 "examples:\n  tritbench sysinfo\n  tritbench sysinfo --roofline\n"
                 "  tritbench sysinfo --roofline --remeasure --json\n";
    return 0;
  }
  if (args.has("--roofline") || args.has("--remeasure")) return print_roofline(args);
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
