#pragma once
// The subcommands of the tritbench CLI. Each returns the process exit code; usage errors throw
// tritbench::UsageError, other failures std::exception (main prints them and exits 2).

namespace tritbench::cli {

int cmd_list(int argc, char** argv);
int cmd_check(int argc, char** argv);
int cmd_sysinfo(int argc, char** argv);
int cmd_kernels(int argc, char** argv);
int cmd_e2e(int argc, char** argv);
int cmd_run(int argc, char** argv);
int cmd_compare(int argc, char** argv);
int cmd_synth(int argc, char** argv);
int cmd_generate(int argc, char** argv);
int cmd_convert(int argc, char** argv);
int cmd_tune(int argc, char** argv);

}  // namespace tritbench::cli
