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

namespace {

std::shared_ptr<void> new_block(std::size_t bytes) {
  void* p = nullptr;
  if (posix_memalign(&p, kHugePage, bytes) != 0) throw std::bad_alloc();
  if (huge_pages_enabled()) advise_huge(p, bytes);
  return std::shared_ptr<void>(p, [](void* q) { std::free(q); });
}

}  // namespace

void WeightArena::adopt(AlignedBuffer& b) {
  if (b.empty() || b.in_arena()) return;
  constexpr std::size_t kStart = 4096;
  const std::size_t size = b.size();
  const std::size_t span = (size + kAlign - 1) / kAlign * kAlign;  // what a kernel may read
  std::shared_ptr<void> block;
  std::size_t off = 0;
  if (span > kBlockBytes / 2) {
    // A matrix of this size fills huge pages by itself: a block of its own, and the shared block
    // keeps filling with the smaller ones.
    block = new_block((span + kHugePage - 1) / kHugePage * kHugePage);
  } else {
    off = (used_ + kStart - 1) / kStart * kStart;
    if (!block_ || off + span > capacity_) {
      block_ = new_block(kBlockBytes);
      capacity_ = kBlockBytes;
      off = 0;
    }
    block = block_;
    used_ = off + span;
  }
  auto* dst = static_cast<std::uint8_t*>(block.get()) + off;
  std::memcpy(dst, b.data(), size);
  std::memset(dst + size, 0, span - size);
  b.release();
  b.data_ = dst;
  b.size_ = size;
  b.block_ = std::move(block);
}

}  // namespace tritbench
