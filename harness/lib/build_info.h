#pragma once
// What binary produced a result: recorded in every result file.

namespace tritbench {

struct BuildInfo {
  const char* version;
  const char* git_commit;  // short hash, "-dirty" when the tree had uncommitted changes
  const char* compiler;
  const char* flags;  // CMAKE_CXX_FLAGS + the build type's flags; ISA files add their own
  const char* build_type;
};

const BuildInfo& build_info();

}  // namespace tritbench
