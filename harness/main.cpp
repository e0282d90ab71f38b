// tritbench: ternary (BitNet b1.58) kernel and model benchmark harness.
#include <cstring>
#include <iostream>
#include <string>

#include "harness/commands.h"
#include "harness/lib/args.h"
#include "harness/lib/build_info.h"

namespace {

struct Command {
  const char* name;
  int (*fn)(int, char**);
  const char* summary;
};

const Command kCommands[] = {
    {"run", tritbench::cli::cmd_run, "run an experiment file: checks, sweeps, e2e runs -> results/"},
    {"compare", tritbench::cli::cmd_compare, "compare two result files: ratios, noise-aware verdicts, correctness"},
    {"list", tritbench::cli::cmd_list, "the kernel registry: format, bits/weight, ISA, runnable here"},
    {"check", tritbench::cli::cmd_check, "exactness of every runnable kernel against the naive oracle"},
    {"kernels", tritbench::cli::cmd_kernels, "time kernels over shapes, batch sizes and threads"},
    {"e2e", tritbench::cli::cmd_e2e, "end-to-end prompt and generation tokens/s of a whole model"},
    {"synth", tritbench::cli::cmd_synth, "write a synthetic model of any preset as a bitnet.cpp GGUF"},
    {"generate", tritbench::cli::cmd_generate, "generate text from a prompt (or chat), streamed, with tokens/s"},
    {"convert", tritbench::cli::cmd_convert, "convert a Hugging Face BitNet checkpoint folder to a GGUF file"},
    {"sysinfo", tritbench::cli::cmd_sysinfo, "CPU, features, caches, compiler, flags, git commit; --roofline"},
    {"tune", tritbench::cli::cmd_tune, "search a kernel row's tile space; store the best per machine"},
};

void usage(std::ostream& o) {
  o << "usage: tritbench COMMAND [options]   (tritbench COMMAND --help for its options)\n\ncommands:\n";
  for (const auto& c : kCommands) o << "  " << c.name << std::string(10 - std::strlen(c.name), ' ') << c.summary << "\n";
  o << "\nenvironment:\n  TRITBENCH_ISA=scalar|avx2|avx512|avx512vnni|avx512vbmi|native  cap the ISA level used\n";
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || std::strcmp(argv[1], "--help") == 0 || std::strcmp(argv[1], "-h") == 0) {
    usage(argc < 2 ? std::cerr : std::cout);
    return argc < 2 ? 1 : 0;
  }
  if (std::strcmp(argv[1], "--version") == 0) {
    std::cout << "tritbench " << tritbench::build_info().version << " (" << tritbench::build_info().git_commit << ")\n";
    return 0;
  }
  for (const auto& c : kCommands) {
    if (std::strcmp(argv[1], c.name) != 0) continue;
    try {
      return c.fn(argc, argv);
    } catch (const tritbench::UsageError& e) {
      std::cerr << "tritbench " << c.name << ": " << e.what() << "\n";
      return 2;
    } catch (const std::exception& e) {
      std::cerr << "tritbench " << c.name << ": error: " << e.what() << "\n";
      return 2;
    }
  }
  std::cerr << "tritbench: unknown command '" << argv[1] << "'\n\n";
  usage(std::cerr);
  return 2;
}
