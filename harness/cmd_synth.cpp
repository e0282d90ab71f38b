// tritbench synth: a synthetic model of any preset as a bitnet.cpp-compatible GGUF file.
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <iostream>
#include <memory>

#include "harness/commands.h"
#include "harness/lib/args.h"
#include "harness/lib/progress.h"
#include "harness/lib/table.h"
#include "models/config.h"
#include "models/synth.h"

namespace tritbench::cli {

namespace {

std::atomic<bool> g_stop{false};

extern "C" void on_signal(int sig) {
  g_stop.store(true);
  std::signal(sig, SIG_DFL);
}

std::string human_bytes(std::uint64_t b) {
  const char* unit[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(b);
  int u = 0;
  while (v >= 1024 && u < 4) {
    v /= 1024;
    ++u;
  }
  return fmt(v, u == 0 ? 0 : 2) + " " + unit[u];
}

}  // namespace

int cmd_synth(int argc, char** argv) {
  Args args(argc, argv, 2, {"--preset", "-o", "--seed", "--output-type", "-t"}, {"--help", "-q"});
  if (args.has("--help")) {
    std::cout
        << R"(usage: tritbench synth --preset NAME -o FILE [--seed N] [--output-type f16|f32|q8_0]
                       [-t THREADS] [-q]

Writes a synthetic BitNet b1.58 model of any preset as a GGUF file in bitnet.cpp's layout: the keys
and tensor names of the official 2B-4T file, I2_S BitLinear weights (about a third zeros, one
absmean-like scale per tensor), F32 norms near 1, an F16 token embedding (the output matrix too when
the preset is tied, as in 2B-4T), general.file_type = 40 and a small gpt2 BPE vocabulary padded with
reserved tokens to the preset's size. bitnet.cpp's loader accepts the file as well as tritbench's.

The weights depend only on the seed and the tensor name: the same command writes the same bytes,
with any thread count. Tensors are generated in slabs of 32 MiB and streamed to disk, so a 100B
model needs no more memory than a 2B one. The file appears atomically (temp file + rename).

  --preset NAME        model preset (see below)
  -o FILE              output file
  --seed N             random seed (default 1)
  --output-type TYPE   output matrix type: f16 (default, as in the official file), f32 or q8_0;
                       applies to token_embd when tied, to output.weight when not
  -t THREADS           generator threads (default: all hardware threads)
  -q                   no progress line

presets: )"
        << models::preset_names() << R"(

examples:
  tritbench synth --preset 2b4t -o /tmp/2b4t.gguf
  tritbench synth --preset tiny --seed 7 -o tiny.gguf
  tritbench synth --preset 100b --output-type q8_0 -o /data/100b.gguf
)";
    return 0;
  }
  const std::string preset = args.get("--preset");
  if (preset.empty())
    throw UsageError("--preset is required (one of: " + models::preset_names() + ")");
  const models::ModelConfig* cfg = models::find_preset(preset);
  if (!cfg)
    throw UsageError("--preset '" + preset +
                     "' is unknown (expected one of: " + models::preset_names() + ")");
  const std::string out = args.get("-o");
  if (out.empty()) throw UsageError("-o FILE is required");
  const auto seed = static_cast<std::uint64_t>(args.integer("--seed", 1, 0, INT64_MAX));
  models::SynthOptions opt;
  const std::string type = args.get("--output-type", "f16");
  if (type == "f16" || type == "F16") {
    opt.output_type = models::DType::kF16;
  } else if (type == "f32" || type == "F32") {
    opt.output_type = models::DType::kF32;
  } else if (type == "q8_0" || type == "Q8_0") {
    opt.output_type = models::DType::kQ8_0;
  } else {
    throw UsageError("--output-type '" + type + "' is unknown (expected f16, f32 or q8_0)");
  }
  opt.threads = static_cast<int>(args.integer("-t", 0, 0, 1024));
  // Progress bar on a terminal only (a line per tensor would flood a log: 794 for 100B).
  std::unique_ptr<Progress> bar;
  if (!args.has("-q") && ::isatty(2)) {
    bar = std::make_unique<Progress>(
        static_cast<std::int64_t>(models::SyntheticSource(*cfg, seed).tensor_names().size()));
    opt.progress = [&](std::size_t, std::size_t, const std::string& name, std::uint64_t bytes) {
      bar->advance(name + "  " + human_bytes(bytes));
    };
  }
  // Ctrl-C / SIGTERM: stop after the current slab and remove the temporary file; a second Ctrl-C
  // kills at once (the target is still intact, only the temporary file stays).
  g_stop = false;
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  opt.stop = &g_stop;
  struct Restore {
    ~Restore() {
      std::signal(SIGINT, SIG_DFL);
      std::signal(SIGTERM, SIG_DFL);
    }
  } restore;

  models::SyntheticSource src(*cfg, seed);
  models::SynthResult r;
  try {
    r = models::write_synthetic_gguf(src, out, opt);
  } catch (...) {
    if (bar) bar->finish();
    throw;
  }
  if (bar) bar->finish();
  const double gb_s = r.seconds > 0 ? static_cast<double>(r.bytes) / r.seconds / 1e9 : 0;
  std::cout << "wrote " << out << ": preset " << cfg->name << " (" << cfg->arch << ", "
            << cfg->layers << " layers, hidden " << cfg->hidden << ", vocab " << cfg->vocab
            << "), seed " << seed << "\n"
            << "  " << r.tensors << " tensors, " << fmt(static_cast<double>(r.params) / 1e9, 3)
            << " B params (" << fmt(static_cast<double>(cfg->ternary_params()) / 1e9, 3)
            << " B ternary as I2_S), output matrix " << models::dtype_name(opt.output_type)
            << (cfg->tied ? " (tied token_embd)" : " (output.weight)") << "\n"
            << "  " << human_bytes(r.bytes) << " (" << r.bytes << " bytes) in " << fmt(r.seconds, 2)
            << " s (" << fmt(gb_s, 2) << " GB/s)\n";
  return 0;
}

}  // namespace tritbench::cli
