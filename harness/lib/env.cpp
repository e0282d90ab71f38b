#include "harness/lib/env.h"

#include <sys/utsname.h>
#include <unistd.h>

#include "harness/lib/build_info.h"
#include "kernels/cpu/cpu.h"

namespace tritbench {

std::string hostname() {
  char buf[256] = {};
  if (gethostname(buf, sizeof buf - 1) != 0) return "unknown";
  return buf;
}

std::int64_t total_memory_bytes() {
  return static_cast<std::int64_t>(sysconf(_SC_PHYS_PAGES)) * sysconf(_SC_PAGESIZE);
}

nlohmann::json environment_json() {
  const CpuInfo& c = cpu_info();
  const BuildInfo& b = build_info();
  nlohmann::json caches = nlohmann::json::array();
  for (const auto& k : c.caches)
    caches.push_back({{"level", k.level}, {"type", k.type}, {"bytes", k.bytes}, {"shared_by", k.shared_by}});
  utsname u{};
  uname(&u);
  return {
      {"host", hostname()},
      {"os", std::string(u.sysname) + " " + u.release},
      {"cpu",
       {{"vendor", c.vendor},
        {"model", c.model},
        {"family", c.family},
        {"model_id", c.model_id},
        {"stepping", c.stepping},
        {"features", c.features},
        {"isa_level", std::string(isa_name(c.level))},
        {"hardware_isa_level", std::string(isa_name(c.hardware_level))},
        {"isa_capped_by_env", c.capped ? c.cap_source : ""},
        {"logical_cpus", c.logical_cpus},
        {"caches", caches}}},
      {"memory_bytes", total_memory_bytes()},
      {"build",
       {{"version", b.version},
        {"git_commit", b.git_commit},
        {"compiler", b.compiler},
        {"flags", b.flags},
        {"build_type", b.build_type}}},
  };
}

}  // namespace tritbench
