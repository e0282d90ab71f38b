#pragma once
// CPU feature detection and the ISA levels kernels are built for.
//
// Every registry row names one ISA level. A level is runnable when this CPU (and the OS, which must
// save the wide registers) has all its features and the level is not above the cap set by the
// environment variable TRITBENCH_ISA (scalar | avx2 | avx512 | avx512vnni | avx512vbmi | native).
// The cap lets a user measure the AVX2 rows on an AVX-512 machine, or reproduce what an older CPU
// would run. Nothing ever falls back silently: a row that is not runnable is refused or skipped
// with the reason (see why_not_runnable).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tritbench {

// Ordered: each level includes the features of the ones before it.
enum class Isa : int { kScalar = 0, kAvx2 = 1, kAvx512 = 2, kAvx512Vnni = 3, kAvx512Vbmi = 4 };
inline constexpr int kIsaCount = 5;

std::string_view isa_name(Isa isa);  // "scalar", "avx2", ...
std::optional<Isa> parse_isa(std::string_view s);

struct CpuInfo {
  std::string vendor;
  std::string model;  // brand string
  int family = 0, model_id = 0, stepping = 0;
  std::vector<std::string> features;  // the ones tritbench cares about, that this CPU has
  Isa hardware_level = Isa::kScalar;  // best level the hardware + OS support
  Isa level = Isa::kScalar;  // after the TRITBENCH_ISA cap
  bool capped = false;  // TRITBENCH_ISA lowered the level
  std::string cap_source;  // the TRITBENCH_ISA value, if set
  int logical_cpus = 0;
  struct Cache {
    int level = 0;
    std::string type;  // Data, Instruction, Unified
    std::int64_t bytes = 0;
    int shared_by = 0;  // logical CPUs sharing it
  };
  std::vector<Cache> caches;
  std::int64_t last_level_cache_bytes() const;
};

// Detected once, on first use. Throws std::runtime_error on an invalid TRITBENCH_ISA value.
const CpuInfo& cpu_info();

// This CPU (and OS) has the feature, named as in CpuInfo::features ("gfni", "avx_vnni", ...).
// Hardware only: TRITBENCH_ISA caps levels, not single features.
bool cpu_has(std::string_view feature);

bool isa_runnable(Isa isa);
// Empty when runnable, else a sentence naming the missing feature or the cap.
std::string why_not_runnable(Isa isa);

}  // namespace tritbench
