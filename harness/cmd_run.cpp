// tritbench run experiments/NAME.json: checks, kernel sweeps and end-to-end runs from one data file.
#include <algorithm>
#include <csignal>
#include <ctime>
#include <filesystem>
#include <iostream>
#include <optional>

#include "harness/commands.h"
#include "harness/lib/args.h"
#include "harness/lib/bench.h"
#include "harness/lib/build_info.h"
#include "harness/lib/check.h"
#include "harness/lib/e2e_bench.h"
#include "harness/lib/e2e_check.h"
#include "harness/lib/env.h"
#include "harness/lib/experiment.h"
#include "harness/lib/io.h"
#include "harness/lib/progress.h"
#include "harness/lib/roofline.h"
#include "harness/lib/sweep.h"
#include "harness/lib/table.h"
#include "kernels/registry.h"

namespace tritbench::cli {

namespace {

std::atomic<bool> g_stop{false};

extern "C" void on_sigint(int) {
  // First Ctrl-C: finish the current item, keep what finished, write the results. Second: default.
  g_stop.store(true);
  std::signal(SIGINT, SIG_DFL);
}

std::string utc_stamp(const char* format) {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, format, &tm);
  return buf;
}

std::string summary_markdown(const nlohmann::json& r) {
  std::string md = "# " + r["experiment"].get<std::string>() + "\n\n";
  if (!r["description"].get<std::string>().empty()) md += r["description"].get<std::string>() + "\n\n";
  const auto& env = r["environment"];
  md += "Machine: " + env["cpu"]["model"].get<std::string>() + ", " + std::to_string(env["cpu"]["logical_cpus"].get<int>()) +
        " CPUs (" + env["host"].get<std::string>() + "); tritbench " + env["build"]["git_commit"].get<std::string>() + " (" +
        env["build"]["compiler"].get<std::string>() + "); started " + r["started"].get<std::string>() +
        (r["interrupted"].get<bool>() ? "; **interrupted**: partial results" : "") + ".\n\n";
  if (!r["checks"].empty()) {
    md += "## Checks\n\n";
    Table t({"check", "kernel", "threads", "verdict"});
    for (const auto& c : r["checks"]) {
      if (c["kind"] == "check") {
        t.add({"kernels vs oracle", c["kernel"], "1,2", c["ok"].get<bool>() ? (c["pass"].get<int>() ? "pass" : "skipped") : "FAIL: " + c["first_failure"].get<std::string>()});
      } else {
        const bool exact = c["exact"];
        std::string v = !c["error"].get<std::string>().empty() ? "ERROR " + c["error"].get<std::string>()
                        : !exact ? "approximate (reported)"
                        : c["pass"].get<bool>() ? "bit-identical, reference tokens" : "FAIL";
        t.add({"e2e " + c["model"].get<std::string>(), c["kernel"], std::to_string(c["threads"].get<int>()), v});
      }
    }
    md += t.markdown() + "\n";
  }
  if (!r["sweeps"].empty()) {
    md += "## Kernel sweeps\n\n";
    // % roof as in `tritbench kernels`; % now / % calls only for rows measured with read_now /
    // read_calls.
    auto has = [](const nlohmann::json& row, const char* key) { return row.contains(key) && !row[key].is_null(); };
    // "2560", or "2560+640+640" for a call over several matrices.
    auto rows_of = [&](const nlohmann::json& row) {
      if (!has(row, "parts")) return std::to_string(row["M"].get<std::int64_t>());
      std::string m;
      for (const auto& p : row["parts"]) {
        if (!m.empty()) m += '+';
        m += std::to_string(p.get<std::int64_t>());
      }
      return m;
    };
    const bool any_now = std::any_of(r["sweeps"].begin(), r["sweeps"].end(), [&](const auto& s) { return has(s, "read_now"); });
    std::vector<std::string> head = {"kernel", "shape", "MxK", "N", "t", "weights", "median us", "GOP/s", "weight GB/s", "% roof"};
    if (any_now) head.push_back("% now");
    const bool any_calls =
        std::any_of(r["sweeps"].begin(), r["sweeps"].end(), [&](const auto& s) { return has(s, "read_calls"); });
    if (any_calls) head.push_back("% calls");
    const bool any_anatomy =
        std::any_of(r["sweeps"].begin(), r["sweeps"].end(), [&](const auto& s) { return has(s, "anatomy"); });
    if (any_anatomy) head.push_back("% tail");
    Table t(head);
    for (const auto& s : r["sweeps"]) {
      const bool roof = has(s, "roofline");
      const bool now = has(s, "read_now");
      std::vector<std::string> row = {
          s["kernel_ran"], s["shape"], rows_of(s) + "x" + std::to_string(s["K"].get<std::int64_t>()),
          std::to_string(s["batch"].get<std::int64_t>()), std::to_string(s["threads"].get<int>()),
          s["hot"].get<bool>() ? "hot" : "cold", fmt(s["median_seconds"].get<double>() * 1e6, 1),
          fmt(s["gops"].get<double>(), 1), fmt(s["weight_gbps"].get<double>(), 1),
          roof ? fmt(s["roofline"]["pct"].get<double>(), 0) + (s["roofline"]["bound"] == "memory" ? " mem" : " cpu") : ""};
      if (any_now) row.push_back(now ? fmt(s["read_now"]["pct"].get<double>(), 0) : "");
      if (any_calls) row.push_back(has(s, "read_calls") ? fmt(s["read_calls"]["pct"].get<double>(), 0) : "");
      if (any_anatomy) row.push_back(has(s, "anatomy") ? fmt(s["anatomy"]["tail_pct"].get<double>(), 0) : "");
      t.add(row);
    }
    md += t.markdown() + "\n";
    if (any_now || any_calls || any_anatomy)
      md += std::string(any_now ? "% now: weight GB/s over the read bandwidth measured right before and after the "
                                  "row (the higher). "
                                : "") +
            (any_calls ? "% calls: over a plain read of the row's own weight copies, call by call with its "
                         "threads (the read bandwidth of calls of that size). "
                       : "") +
            (any_anatomy ? "% tail: of single calls timed one by one, (mean - median) / mean: what slower-than-median "
                           "calls add to a mean (the JSON's `anatomy` also has each call's fork, tasks and join). "
                         : "") +
            "\n\n";
  }
  if (!r["e2e"].empty()) {
    md += "## End to end\n\n";
    Table t({"model", "output", "kernel", "threads", "test", "batch", "t/s", "% roof"});
    bool marked = false;
    for (const auto& e : r["e2e"]) {
      marked = marked || e2e::roof_marked(e);
      t.add({e["model"], e["output_type"], e["kernel_ran"], std::to_string(e["threads"].get<int>()), e["test"],
             std::to_string(e["batch"].get<std::int64_t>()),
             fmt(e["mean_tps"].get<double>(), 2) + " ± " + fmt(e["stddev_tps"].get<double>(), 2), e2e::roof_cell(e)});
    }
    md += t.markdown() + "\n";
    if (marked) md += std::string(e2e::kFitsLlcNote) + "\n\n";
  }
  if (r.contains("skipped") && !r["skipped"].empty()) {
    md += "## Skipped\n\n";
    Table t({"model", "kernel", "why"});
    for (const auto& s : r["skipped"]) t.add({s["model"], s["kernel"], s["reason"]});
    md += t.markdown() + "\n";
  }
  return md;
}

}  // namespace

int cmd_run(int argc, char** argv) {
  Args args(argc, argv, 2, {"--results-dir", "--out"}, {"--help", "--dry-run", "--no-roofline"});
  if (args.has("--help") || args.positional().size() != 1) {
    (args.has("--help") ? std::cout : std::cerr) << R"(usage: tritbench run EXPERIMENT.json [--results-dir DIR] [--out FILE] [--dry-run] [--no-roofline]

Runs an experiment file (experiments/*.json): kernel checks, kernel sweeps and end-to-end runs, with
a progress bar on a terminal (plain lines otherwise). Results go to DIR/NAME/<date>_<host>_<commit>.json
(default DIR: results), written atomically, plus a Markdown summary beside it. Ctrl-C stops after the
current item and keeps everything that finished (the file says "interrupted": true).

  --results-dir DIR   where results/NAME/ folders go (default: results)
  --out FILE          write the JSON exactly here instead
  --dry-run           parse and validate the experiment, print the plan, run nothing
  --no-roofline       do not measure (or load) this machine's roofline for the sweeps' and e2e rows'
                      % of the ceiling

examples:
  tritbench run experiments/quickstart.json
  tritbench run experiments/kernels-2b4t.json --results-dir /tmp/r
)";
    return args.has("--help") ? 0 : 2;
  }
  experiment::Experiment ex;
  try {
    ex = experiment::load(args.positional()[0]);
  } catch (const std::invalid_argument& e) {
    throw UsageError(e.what());
  }
  // Resolve everything before running anything: a typo fails now, not after an hour.
  struct SweepPlan {
    std::vector<bench::Spec> specs;
    bench::Options opts;
  };
  // As for `tritbench kernels`: tuning data (results/tuning/<machine>.json) decides tiles, and the
  // machine's roofline (measured once, cached) gives every sweep row its % of the ceiling.
  sweep::MachineOptions mo;
  mo.roofline = (!ex.sweeps.empty() || !ex.e2e.empty()) && !args.has("--dry-run") && !args.has("--no-roofline");
  const sweep::MachineData machine = sweep::load_machine_data(TRITBENCH_SOURCE_DIR "/results", mo, std::cerr);
  std::vector<SweepPlan> sweeps;
  std::int64_t units = (ex.check_kernels ? 1 : 0) + (ex.check_e2e ? 1 : 0);
  for (const auto& s : ex.sweeps) {
    SweepPlan p;
    p.opts.repetitions = s.repetitions;
    p.opts.min_time = s.min_time;
    p.opts.progress = false;
    const auto kernels = resolve_kernel_list(s.kernels);
    for (const auto& shape : sweep::parse_shapes(s.shapes))
      for (auto N : s.batch)
        for (auto t : s.threads)
          for (const KernelInfo* k : kernels) {
            if (!runnable(*k)) continue;
            // The tile the row would be packed with (tuned for this machine when tuning data exists).
            const TileChoice choice = choose_tile(*k, shape.M, shape.K, N, static_cast<int>(t), s.hot);
            p.specs.push_back({k, shape.label, shape.M, shape.K, N, static_cast<int>(t), s.hot,
                               choice.tile, choice.source, shape.parts});
          }
    units += static_cast<std::int64_t>(p.specs.size());
    sweeps.push_back(std::move(p));
  }
  struct E2ePlan {
    std::unique_ptr<models::WeightSource> src;
    e2e::Options opts;
  };
  std::vector<E2ePlan> e2es;
  for (const auto& e : ex.e2e) {
    E2ePlan p;
    p.src = e2e::open_model(e.model, e.seed);
    p.opts.kernels = resolve_kernel_list(e.kernels);
    p.opts.prompts = e.prompt;
    p.opts.gens = e.gen;
    p.opts.batches = e.batch;
    p.opts.threads = e.threads;
    p.opts.repetitions = e.repetitions;
    p.opts.output = models::parse_output_type(e.output_type);
    std::int64_t tests = 0;
    for (auto pr : e.prompt) tests += pr > 0 ? static_cast<std::int64_t>(e.batch.size()) : 0;
    for (auto g : e.gen) tests += g > 0;
    std::int64_t kernels = 0;
    for (const KernelInfo* k : p.opts.kernels) kernels += runnable(*k);
    units += kernels * static_cast<std::int64_t>(e.threads.size()) * tests;
    e2es.push_back(std::move(p));
  }
  std::cerr << "experiment " << ex.name << ": " << (ex.check_kernels ? "kernel check, " : "")
            << (ex.check_e2e ? "e2e check, " : "") << units - ex.check_kernels - ex.check_e2e
            << " timed items (" << ex.sweeps.size() << " sweeps, " << ex.e2e.size() << " e2e runs)\n";
  if (args.has("--dry-run")) return 0;
  for (auto& p : sweeps) p.opts.roofline = machine.roofline ? &*machine.roofline : nullptr;
  // One read probe for every sweep that asks for it (its array is allocated and touched once).
  std::optional<roofline::ReadProbe> probe;
  for (std::size_t i = 0; i < sweeps.size(); ++i)
    if (ex.sweeps[i].read_now && !ex.sweeps[i].hot) sweeps[i].opts.read_now = probe ? &*probe : &probe.emplace();
  for (std::size_t i = 0; i < sweeps.size(); ++i) {
    sweeps[i].opts.read_calls = ex.sweeps[i].read_calls && !ex.sweeps[i].hot;
    sweeps[i].opts.anatomy = ex.sweeps[i].anatomy;
  }
  for (auto& p : e2es) p.opts.roofline = machine.roofline ? &*machine.roofline : nullptr;

  const std::string commit = build_info().git_commit;
  std::string out = args.get("--out");
  if (out.empty()) {
    const std::filesystem::path dir = std::filesystem::path(args.get("--results-dir", "results")) / ex.name;
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) throw std::runtime_error("cannot create results folder " + dir.string() + ": " + ec.message());
    out = (dir / (utc_stamp("%Y%m%d-%H%M%S") + "_" + hostname() + "_" + commit + ".json")).string();
  }
  nlohmann::json result = {{"experiment", ex.name},
                           {"description", ex.description},
                           {"file", ex.path},
                           {"started", utc_stamp("%Y-%m-%dT%H:%M:%SZ")},
                           {"finished", nullptr},
                           {"interrupted", false},
                           {"environment", environment_json()},
                           {"checks", nlohmann::json::array()},
                           {"sweeps", nlohmann::json::array()},
                           {"e2e", nlohmann::json::array()},
                           {"skipped", nlohmann::json::array()}};
  // Writes what finished so far: after every item, so a killed run still leaves its results.
  auto save = [&] {
    write_file_atomic(out, result.dump(2) + "\n");
    const std::string md = out.substr(0, out.size() - (out.ends_with(".json") ? 5 : 0)) + ".md";
    write_file_atomic(md, summary_markdown(result));
  };
  g_stop = false;
  std::signal(SIGINT, on_sigint);
  Progress progress(units);
  bool failed = false;
  if (ex.check_kernels && !g_stop) {
    std::vector<const KernelInfo*> all;
    for (const auto& k : registry()) all.push_back(&k);
    for (const auto& s : check::run_all(all, {1, 2}, true)) {
      result["checks"].push_back(s.to_json());
      if (!s.ok()) {
        failed = true;
        progress.message("check FAILED: " + std::string(s.kernel->name) + ": " + s.verdict());
      }
    }
    progress.advance("kernel check");
    save();
  }
  if (ex.check_e2e && !g_stop) {
    auto src = e2e::open_model(ex.check_e2e_model, 1);
    std::vector<const KernelInfo*> all;
    for (const auto& k : registry()) all.push_back(&k);
    const auto rep = check::check_e2e(*src, check::default_prompt(src->config().vocab, 8), ex.check_e2e_steps, all, {1, 2});
    const nlohmann::json report = rep.to_json();  // (not a temporary: the loop below refers into it)
    for (auto j : report["runs"]) {
      j["kind"] = "check_e2e";
      j["model"] = rep.model;
      result["checks"].push_back(j);
    }
    if (!rep.pass) {
      failed = true;
      progress.message("e2e check FAILED on " + rep.model);
    }
    progress.advance("e2e check");
    save();
  }
  for (auto& p : sweeps) {
    for (const auto& spec : p.specs) {
      if (g_stop) break;
      for (const auto& r : bench::run({spec}, p.opts)) {
        if (!r.error.empty()) {
          progress.message(std::string(spec.kernel->name) + " " + spec.shape + ": " + r.error);
          continue;
        }
        result["sweeps"].push_back(r.to_json());
      }
      progress.advance(std::string(spec.kernel->name) + " " + spec.shape + " N=" + std::to_string(spec.N) +
                       " t=" + std::to_string(spec.threads));
      save();
    }
  }
  for (auto& p : e2es) {
    if (g_stop) break;
    std::vector<nlohmann::json> skipped;
    const auto rows = e2e::run(
        *p.src, p.opts,
        [&](const std::string& msg, bool finished) {
          if (finished) {
            progress.advance(p.src->config().name + " " + msg);
          } else {
            progress.message("  " + msg);
          }
        },
        &g_stop, &skipped);
    for (const auto& r : rows) result["e2e"].push_back(r);
    for (const auto& s : skipped) result["skipped"].push_back(s);
    save();
  }
  progress.finish();
  std::signal(SIGINT, SIG_DFL);
  result["interrupted"] = g_stop.load();
  result["finished"] = utc_stamp("%Y-%m-%dT%H:%M:%SZ");
  save();
  std::cout << summary_markdown(result);
  std::cerr << "results: " << out << "\n";
  if (g_stop) {
    std::cerr << "interrupted: the results above are partial\n";
    return 130;
  }
  return failed ? 1 : 0;
}

}  // namespace tritbench::cli
