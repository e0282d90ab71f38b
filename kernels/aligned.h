#pragma once
// A 64-byte aligned, zero-initialised byte buffer. Packed weights, prepared activations and LUTs live
// in these so that every kernel may use aligned full-width loads on row starts. Packed weights can
// move into a WeightArena: one run of huge pages for a whole model.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <utility>

namespace tritbench {

inline constexpr std::size_t kAlign = 64;
inline constexpr std::size_t kHugePage = 2u << 20;
inline constexpr std::size_t kHugeThreshold = 4u << 20;  // buffers at least this large use huge pages

// madvise(MADV_HUGEPAGE); false when the environment sets TRITBENCH_HUGEPAGES=0.
bool huge_pages_enabled();
void advise_huge(void* p, std::size_t bytes);

class WeightArena;

// Owns its bytes, or (after WeightArena::adopt) is a view into an arena block that it keeps alive.
// Either way data() is 64-byte aligned and the bytes up to the next 64-byte boundary are readable
// zeros; copies are always deep and own their bytes.
class AlignedBuffer {
 public:
  AlignedBuffer() = default;
  explicit AlignedBuffer(std::size_t bytes) { resize(bytes); }
  AlignedBuffer(const AlignedBuffer& o) : AlignedBuffer(o.size_) {
    if (size_) std::memcpy(data_, o.data_, size_);
  }
  AlignedBuffer(AlignedBuffer&& o) noexcept
      : data_(std::exchange(o.data_, nullptr)), size_(std::exchange(o.size_, 0)), block_(std::move(o.block_)) {}
  AlignedBuffer& operator=(AlignedBuffer o) noexcept {
    std::swap(data_, o.data_);
    std::swap(size_, o.size_);
    std::swap(block_, o.block_);
    return *this;
  }
  ~AlignedBuffer() { release(); }

  // Discards the contents; the new buffer is zero-filled and owned. The allocation is rounded up to
  // a whole number of 64-byte lines so that a kernel's full-width tail load stays inside it.
  void resize(std::size_t bytes) {
    release();
    size_ = bytes;
    if (bytes == 0) return;
    const bool huge = bytes >= kHugeThreshold && huge_pages_enabled();
    const std::size_t alloc = (bytes + kAlign - 1) / kAlign * kAlign;
    void* p = nullptr;
    if (posix_memalign(&p, huge ? kHugePage : kAlign, alloc) != 0) throw std::bad_alloc();
    data_ = static_cast<std::uint8_t*>(p);
    // Weights are streamed from DRAM once per token: 2 MiB pages cut TLB misses 512-fold. Linux
    // gives anonymous memory huge pages only when asked (THP "madvise" mode is common). Only the
    // whole 2 MiB pages are advised: rounding the allocation up to whole huge pages made a 4.4 MB
    // matrix resident as 6 MB (measured on 2B-4T from a GGUF: 1324 MiB resident before this
    // change, 1162 MiB after, for 1124 MiB of packed weights, output matrix and KV cache).
    // Matrices smaller than this go to 4 KiB pages here; a model puts them in a WeightArena.
    if (huge) advise_huge(data_, bytes / kHugePage * kHugePage);
    std::memset(data_, 0, alloc);
  }

  std::uint8_t* data() { return data_; }
  const std::uint8_t* data() const { return data_; }
  template <class T>
  T* as() {
    return reinterpret_cast<T*>(data_);
  }
  template <class T>
  const T* as() const {
    return reinterpret_cast<const T*>(data_);
  }
  std::size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  // True when the bytes live in a WeightArena block rather than in an allocation of their own.
  bool in_arena() const { return block_ != nullptr; }

 private:
  friend class WeightArena;
  void release() {
    if (!block_) std::free(data_);
    block_.reset();
    data_ = nullptr;
    size_ = 0;
  }

  std::uint8_t* data_ = nullptr;
  std::size_t size_ = 0;
  std::shared_ptr<void> block_;  // set: data_ points into this arena block (not freed here)
};

// Packed weights laid end to end in large blocks backed by 2 MiB pages, in the order they are
// adopted (a model's order of use). Allocated one by one, 2B-4T's attention matrices (0.4 and
// 1.6 MB) and every matrix's last partial 2 MiB would sit on 4 KiB pages: a TLB miss, and a restart
// of the hardware prefetchers, every 4 KiB of a GEMV's stream (measured: 5-14% more GB/s for those
// shapes at one thread; kernels/i2r/README.md, "Huge pages for every matrix"). Blocks are freed
// when the last buffer using them goes.
class WeightArena {
 public:
  static constexpr std::size_t kBlockBytes = 64u << 20;  // 32 huge pages
  WeightArena() = default;
  WeightArena(const WeightArena&) = delete;
  WeightArena& operator=(const WeightArena&) = delete;

  // Moves b's bytes into the arena (b keeps its size and contents, now as a view; an empty b is
  // left alone). Each buffer starts on a 4 KiB boundary.
  void adopt(AlignedBuffer& b);

 private:
  std::shared_ptr<void> block_;
  std::size_t used_ = 0, capacity_ = 0;
};

inline constexpr std::int64_t round_up(std::int64_t x, std::int64_t m) { return (x + m - 1) / m * m; }

}  // namespace tritbench
