#include "kernels/aligned.h"

#include <sys/mman.h>

#include <cstdlib>
#include <cstring>

namespace tritbench {

bool huge_pages_enabled() {
  static const bool on = [] {
    const char* e = std::getenv("TRITBENCH_HUGEPAGES");
    return !(e && std::strcmp(e, "0") == 0);
  }();
  return on;
}

void advise_huge(void* p, std::size_t bytes) {
#ifdef MADV_HUGEPAGE
  madvise(p, bytes, MADV_HUGEPAGE);  // advice only: failure leaves normal pages
#else
  (void)p;
  (void)bytes;
#endif
}

}  // namespace tritbench
