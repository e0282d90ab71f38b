#include "kernels/cpu/cpu.h"

#include <cpuid.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <stdexcept>
#include <thread>

namespace tritbench {

namespace {

constexpr std::string_view kIsaNames[kIsaCount] = {"scalar", "avx2", "avx512", "avx512vnni",
                                                   "avx512vbmi"};

std::uint64_t xgetbv0() {
  std::uint32_t eax, edx;
  __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
  return (std::uint64_t(edx) << 32) | eax;
}

std::string read_file_line(const std::string& path) {
  std::ifstream f(path);
  std::string s;
  std::getline(f, s);
  return s;
}

std::int64_t parse_size(const std::string& s) {  // "32K", "1024K", "32768K", "16M"
  if (s.empty()) return 0;
  char* end = nullptr;
  std::int64_t v = std::strtoll(s.c_str(), &end, 10);
  if (end && *end == 'K') v *= 1024;
  if (end && *end == 'M') v *= 1024 * 1024;
  return v;
}

int count_cpus(const std::string& list) {  // "0-1", "0,2-3"
  int n = 0;
  std::size_t i = 0;
  while (i < list.size()) {
    std::size_t j = list.find(',', i);
    std::string part = list.substr(i, j == std::string::npos ? std::string::npos : j - i);
    std::size_t dash = part.find('-');
    if (dash == std::string::npos) {
      n += 1;
    } else {
      n += std::atoi(part.c_str() + dash + 1) - std::atoi(part.c_str()) + 1;
    }
    if (j == std::string::npos) break;
    i = j + 1;
  }
  return n;
}

CpuInfo detect() {
  CpuInfo info;
  unsigned a = 0, b = 0, c = 0, d = 0;
  __get_cpuid(0, &a, &b, &c, &d);
  const unsigned max_leaf = a;
  char vendor[13] = {};
  std::memcpy(vendor + 0, &b, 4);
  std::memcpy(vendor + 4, &d, 4);
  std::memcpy(vendor + 8, &c, 4);
  info.vendor = vendor;

  __get_cpuid(1, &a, &b, &c, &d);
  const unsigned c1 = c;
  info.stepping = a & 0xf;
  info.family = (a >> 8) & 0xf;
  info.model_id = (a >> 4) & 0xf;
  if (info.family == 0xf) info.family += (a >> 20) & 0xff;
  if (info.family >= 6) info.model_id |= ((a >> 16) & 0xf) << 4;

  unsigned b7 = 0, c7 = 0, d7 = 0, a71 = 0;
  if (max_leaf >= 7) {
    __cpuid_count(7, 0, a, b7, c7, d7);
    unsigned t = 0;
    __cpuid_count(7, 1, a71, t, t, t);
  }
  const bool osxsave = c1 & (1u << 27);
  const std::uint64_t xcr0 = osxsave ? xgetbv0() : 0;
  const bool os_ymm = (xcr0 & 0x6) == 0x6;
  const bool os_zmm = (xcr0 & 0xe6) == 0xe6;

  struct Feature {
    const char* name;
    bool present;
  };
  const Feature feats[] = {
      {"sse4.2", bool(c1 & (1u << 20))},
      {"popcnt", bool(c1 & (1u << 23))},
      {"fma", os_ymm && (c1 & (1u << 12))},
      {"f16c", os_ymm && (c1 & (1u << 29))},
      {"avx", os_ymm && (c1 & (1u << 28))},
      {"avx2", os_ymm && (b7 & (1u << 5))},
      {"bmi2", bool(b7 & (1u << 8))},
      {"avx_vnni", os_ymm && (a71 & (1u << 4))},
      {"avx512f", os_zmm && (b7 & (1u << 16))},
      {"avx512dq", os_zmm && (b7 & (1u << 17))},
      {"avx512bw", os_zmm && (b7 & (1u << 30))},
      {"avx512vl", os_zmm && (b7 & (1u << 31))},
      {"avx512vnni", os_zmm && (c7 & (1u << 11))},
      {"avx512vbmi", os_zmm && (c7 & (1u << 1))},
      {"avx512vbmi2", os_zmm && (c7 & (1u << 6))},
      {"avx512bitalg", os_zmm && (c7 & (1u << 12))},
      {"avx512_bf16", os_zmm && (a71 & (1u << 5))},
      {"gfni", bool(c7 & (1u << 8))},
  };
  auto has = [&](const char* n) {
    for (const auto& f : feats)
      if (std::strcmp(f.name, n) == 0) return f.present;
    return false;
  };
  for (const auto& f : feats)
    if (f.present) info.features.emplace_back(f.name);

  Isa level = Isa::kScalar;
  if (has("avx2") && has("fma") && has("f16c") && has("bmi2")) level = Isa::kAvx2;
  if (level == Isa::kAvx2 && has("avx512f") && has("avx512bw") && has("avx512vl") &&
      has("avx512dq"))
    level = Isa::kAvx512;
  if (level == Isa::kAvx512 && has("avx512vnni")) level = Isa::kAvx512Vnni;
  if (level == Isa::kAvx512Vnni && has("avx512vbmi")) level = Isa::kAvx512Vbmi;
  info.hardware_level = level;
  info.level = level;

  if (const char* env = std::getenv("TRITBENCH_ISA"); env && *env) {
    info.cap_source = env;
    if (std::string_view(env) != "native") {
      auto cap = parse_isa(env);
      if (!cap)
        throw std::runtime_error(
            std::string("TRITBENCH_ISA: unknown ISA level '") + env +
            "' (expected one of: scalar, avx2, avx512, avx512vnni, avx512vbmi, native)");
      if (static_cast<int>(*cap) < static_cast<int>(level)) {
        info.level = *cap;
        info.capped = true;
      }
    }
  }

  char brand[49] = {};
  unsigned ext_max = 0;
  __get_cpuid(0x80000000, &ext_max, &b, &c, &d);
  if (ext_max >= 0x80000004) {
    for (unsigned i = 0; i < 3; ++i) {
      unsigned r[4] = {};
      __get_cpuid(0x80000002 + i, &r[0], &r[1], &r[2], &r[3]);
      std::memcpy(brand + 16 * i, r, 16);
    }
  }
  info.model = brand;
  while (!info.model.empty() && info.model.back() == ' ') info.model.pop_back();
  while (!info.model.empty() && info.model.front() == ' ') info.model.erase(0, 1);

  info.logical_cpus = static_cast<int>(std::thread::hardware_concurrency());
  for (int i = 0; i < 8; ++i) {
    const std::string dir = "/sys/devices/system/cpu/cpu0/cache/index" + std::to_string(i) + "/";
    const std::string level_s = read_file_line(dir + "level");
    if (level_s.empty()) break;
    CpuInfo::Cache cache;
    cache.level = std::atoi(level_s.c_str());
    cache.type = read_file_line(dir + "type");
    cache.bytes = parse_size(read_file_line(dir + "size"));
    cache.shared_by = count_cpus(read_file_line(dir + "shared_cpu_list"));
    info.caches.push_back(cache);
  }
  if (info.caches.empty()) {
    // Some VMs have no /sys cache directory; glibc reads the sizes from cpuid instead.
    const struct {
      int level;
      const char* type;
      int name;
    } sc[] = {{1, "Data", _SC_LEVEL1_DCACHE_SIZE},
              {1, "Instruction", _SC_LEVEL1_ICACHE_SIZE},
              {2, "Unified", _SC_LEVEL2_CACHE_SIZE},
              {3, "Unified", _SC_LEVEL3_CACHE_SIZE}};
    for (const auto& s : sc) {
      const long bytes = sysconf(s.name);
      if (bytes > 0) info.caches.push_back({s.level, s.type, bytes, 0});
    }
  }
  return info;
}

}  // namespace

std::string_view isa_name(Isa isa) { return kIsaNames[static_cast<int>(isa)]; }

std::optional<Isa> parse_isa(std::string_view s) {
  for (int i = 0; i < kIsaCount; ++i)
    if (kIsaNames[i] == s) return static_cast<Isa>(i);
  return std::nullopt;
}

std::int64_t CpuInfo::last_level_cache_bytes() const {
  std::int64_t best = 0;
  int best_level = 0;
  for (const auto& c : caches)
    if (c.type != "Instruction" && c.level >= best_level) {
      best_level = c.level;
      best = c.bytes;
    }
  return best > 0 ? best : 32ll << 20;  // unknown: assume a generous 32 MiB
}

const CpuInfo& cpu_info() {
  static const CpuInfo info = detect();
  return info;
}

bool cpu_has(std::string_view feature) {
  const auto& f = cpu_info().features;
  return std::find(f.begin(), f.end(), feature) != f.end();
}

bool isa_runnable(Isa isa) { return static_cast<int>(isa) <= static_cast<int>(cpu_info().level); }

std::string why_not_runnable(Isa isa) {
  const CpuInfo& ci = cpu_info();
  if (isa_runnable(isa)) return {};
  if (static_cast<int>(isa) <= static_cast<int>(ci.hardware_level))
    return "needs " + std::string(isa_name(isa)) + ", capped to " +
           std::string(isa_name(ci.level)) + " by TRITBENCH_ISA=" + ci.cap_source;
  return "needs " + std::string(isa_name(isa)) + ", this CPU supports up to " +
         std::string(isa_name(ci.hardware_level));
}

}  // namespace tritbench
