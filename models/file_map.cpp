#include "models/file_map.h"

#include <sys/mman.h>
#include <unistd.h>

namespace tritbench::models {

FileMap::~FileMap() {
  if (addr) ::munmap(addr, size);
}

void drop_file_pages(const void* p, std::uint64_t n) {
  if (!p || n == 0) return;
  const auto page = static_cast<std::uintptr_t>(::sysconf(_SC_PAGESIZE));
  const auto a = reinterpret_cast<std::uintptr_t>(p);
  const std::uintptr_t first = (a + page - 1) / page * page, last = (a + n) / page * page;
  if (last > first) ::madvise(reinterpret_cast<void*>(first), last - first, MADV_DONTNEED);
}

}  // namespace tritbench::models
