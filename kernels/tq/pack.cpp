#include <cmath>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include "kernels/tq/format.h"
#include "kernels/tq/tq.h"

namespace tritbench::tq {

namespace {

using EncodeFn = void (*)(const std::int8_t*, float, std::uint8_t*);
using DecodeFn = void (*)(const std::uint8_t*, std::int8_t*);

// tail: readable zero bytes kept after the last block (the GGUF tensor is the first M * ld bytes).
void pack_with(EncodeFn encode, std::int64_t block_bytes, std::int64_t tail, const TernaryMatrix& w,
               PackedWeights& out) {
  out.M = out.Mp = w.M;
  out.K = w.K;
  out.Kp = round_up(w.K, kBlock);
  const std::int64_t blocks = out.Kp / kBlock;
  out.ld = blocks * block_bytes;
  out.scale = w.scale;
  out.data.resize(static_cast<std::size_t>(out.M * out.ld + tail));
  std::vector<std::int8_t> row(static_cast<std::size_t>(out.Kp), 0);
  for (std::int64_t m = 0; m < w.M; ++m) {
    std::memcpy(row.data(), w.w.data() + m * w.K, static_cast<std::size_t>(w.K));
    for (std::int64_t b = 0; b < blocks; ++b)
      encode(row.data() + b * kBlock, w.scale, out.data.data() + m * out.ld + b * block_bytes);
  }
}

TernaryMatrix unpack_with(DecodeFn decode, std::int64_t block_bytes, const PackedWeights& p) {
  TernaryMatrix t;
  t.M = p.M;
  t.K = p.K;
  t.scale = p.scale;
  t.w.resize(static_cast<std::size_t>(p.M * p.K));
  std::vector<std::int8_t> row(static_cast<std::size_t>(p.Kp));
  for (std::int64_t m = 0; m < p.M; ++m) {
    for (std::int64_t b = 0; b < p.Kp / kBlock; ++b)
      decode(p.data.data() + m * p.ld + b * block_bytes, row.data() + b * kBlock);
    std::memcpy(t.w.data() + m * p.K, row.data(), static_cast<std::size_t>(p.K));
  }
  return t;
}

int tq2_element(int plane, int byte) { return 128 * (byte / 32) + 32 * plane + byte % 32; }

int tq1_element(int digit, int byte) {
  if (byte < 32) return 32 * digit + byte;
  if (byte < 48) return 160 + 16 * digit + (byte - 32);
  if (byte < 52 && digit < 4) return 240 + 4 * digit + (byte - 48);
  return -1;  // qh's fifth digit (always 0), the scale d and whatever follows the block
}

// Reorders each activation row per block (format.h): slot s (64 bytes) takes the activations of
// the elements that bit plane / digit s of the block's bytes 0..63 encode.
template <int Slots, int (*Element)(int slot, int byte)>
void prepare_with(const QuantizedBatch& a, const PackedWeights& w, PreparedActivations& out) {
  const std::int64_t blocks = w.Kp / kBlock;
  out.ld_buf = blocks * Slots * 64;
  const auto need = static_cast<std::size_t>(a.N * out.ld_buf);
  if (out.buf.size() != need) out.buf.resize(need);
  static const std::vector<int> map = [] {
    std::vector<int> m(Slots * 64);
    for (int s = 0; s < Slots; ++s)
      for (int i = 0; i < 64; ++i) m[s * 64 + i] = Element(s, i);
    return m;
  }();
  for (std::int64_t n = 0; n < a.N; ++n) {
    const std::int8_t* q = a.row(n);  // zero-padded to ldq = round_up(K, 256) = Kp
    auto* dst = out.buf.as<std::int8_t>() + n * out.ld_buf;
    for (std::int64_t b = 0; b < blocks; ++b)
      for (int j = 0; j < Slots * 64; ++j)
        dst[b * Slots * 64 + j] = map[j] < 0 ? 0 : q[b * kBlock + map[j]];
  }
  out.q = out.buf.as<std::int8_t>();
  out.ldq = out.ld_buf;
}

GemmArgs args_of(const PackedWeights& w, const PreparedActivations& a, std::int64_t m0,
                 std::int64_t m1, std::int32_t* c, std::int64_t ldc) {
  return GemmArgs{
      w.data.data(), w.ld, w.Kp / kBlock, a.q, a.ldq, a.src->sum.data(), a.N, m0, m1, c, ldc};
}

}  // namespace

std::uint16_t float_to_half(float f) {
  std::uint32_t x;
  std::memcpy(&x, &f, 4);
  const auto sign = static_cast<std::uint16_t>((x >> 16) & 0x8000);
  const std::uint32_t abs = x & 0x7FFFFFFF;
  if (abs >= 0x7F800000) return sign | 0x7C00 | (abs > 0x7F800000 ? 0x200 : 0);  // inf, nan
  if (abs >= 0x477FF000) return sign | 0x7C00;  // rounds to infinity (>= 65520)
  if (abs < 0x38800000) {  // below 2^-14: subnormal half, multiples of 2^-24 (exact scaling)
    const float h = std::nearbyint(std::fabs(f) * 16777216.0f);
    return static_cast<std::uint16_t>(sign | static_cast<std::uint16_t>(h));
  }
  const std::uint32_t mant = abs & 0x7FFFFF, rem = mant & 0x1FFF;
  auto h = static_cast<std::uint16_t>((((abs >> 23) - 112) << 10) | (mant >> 13));
  // Round to nearest even; a carry out of the mantissa correctly bumps the exponent.
  if (rem > 0x1000 || (rem == 0x1000 && (h & 1))) ++h;
  return sign | h;
}

float half_to_float(std::uint16_t h) {
  const std::uint32_t sign = std::uint32_t{h & 0x8000u} << 16, e = (h >> 10) & 0x1F, m = h & 0x3FF;
  if (e == 0) {
    const float v = std::ldexp(static_cast<float>(m), -24);
    return sign ? -v : v;
  }
  const std::uint32_t x = sign | (e == 31 ? 0x7F800000 | (m << 13) : ((e + 112) << 23) | (m << 13));
  float f;
  std::memcpy(&f, &x, 4);
  return f;
}

void encode_tq2(const std::int8_t* w, float d, std::uint8_t* block) {
  auto* b = reinterpret_cast<BlockTQ2*>(block);
  for (int i = 0; i < 64; ++i) {
    std::uint8_t x = 0;
    for (int l = 0; l < 4; ++l)
      x |= static_cast<std::uint8_t>((w[tq2_element(l, i)] + 1) << (2 * l));
    b->qs[i] = x;
  }
  const std::uint16_t h = float_to_half(d);
  std::memcpy(&b->d, &h, 2);
}

void decode_tq2(const std::uint8_t* block, std::int8_t* w) {
  for (int i = 0; i < 64; ++i)
    for (int l = 0; l < 4; ++l) {
      const int code = (block[i] >> (2 * l)) & 3;
      w[tq2_element(l, i)] = static_cast<std::int8_t>(code == 3 ? 0 : code - 1);
    }
}

void encode_tq1(const std::int8_t* w, float d, std::uint8_t* block) {
  auto* b = reinterpret_cast<BlockTQ1*>(block);
  for (int i = 0; i < 52; ++i) {
    int c[5];
    for (int n = 0; n < 5; ++n) {
      const int e = tq1_element(n, i);
      c[n] = e < 0 ? 0 : w[e] + 1;
    }
    (i < 48 ? b->qs[i] : b->qh[i - 48]) = tq1_byte(c);
  }
  const std::uint16_t h = float_to_half(d);
  std::memcpy(&b->d, &h, 2);
}

void decode_tq1(const std::uint8_t* block, std::int8_t* w) {
  for (int i = 0; i < 52; ++i)
    for (int n = 0; n < 5; ++n) {
      const int e = tq1_element(n, i);
      if (e >= 0) w[e] = static_cast<std::int8_t>(tq1_digit(block[i], n) - 1);
    }
}

void tq2_pack(const TernaryMatrix& w, const TileConfig&, PackedWeights& out) {
  pack_with(encode_tq2, sizeof(BlockTQ2), 0, w, out);
}
TernaryMatrix tq2_unpack(const PackedWeights& p) {
  return unpack_with(decode_tq2, sizeof(BlockTQ2), p);
}
void tq2_prepare(const QuantizedBatch& a, const PackedWeights& w, PreparedActivations& out) {
  prepare_with<4, tq2_element>(a, w, out);
}
void tq1_pack(const TernaryMatrix& w, const TileConfig&, PackedWeights& out) {
  if (w.K > kMaxKTQ1)
    throw std::invalid_argument("TQ1_0: K = " + std::to_string(w.K) + " exceeds " +
                                std::to_string(kMaxKTQ1) +
                                " (the int32 bound of the AVX-512 kernel's per-lane sums)");
  // The AVX-512 kernel loads whole 64-byte vectors from the 54-byte blocks.
  pack_with(encode_tq1, sizeof(BlockTQ1), 64, w, out);
}
TernaryMatrix tq1_unpack(const PackedWeights& p) {
  return unpack_with(decode_tq1, sizeof(BlockTQ1), p);
}
void tq1_prepare(const QuantizedBatch& a, const PackedWeights& w, PreparedActivations& out) {
  prepare_with<5, tq1_element>(a, w, out);
}

void tq2_gemm_i32_scalar(const PackedWeights& w, const PreparedActivations& a, std::int64_t m0,
                         std::int64_t m1, std::int32_t* c, std::int64_t ldc) {
  tq2_gemm_scalar(args_of(w, a, m0, m1, c, ldc));
}
void tq2_gemm_i32_avx2(const PackedWeights& w, const PreparedActivations& a, std::int64_t m0,
                       std::int64_t m1, std::int32_t* c, std::int64_t ldc) {
  tq2_gemm_avx2(args_of(w, a, m0, m1, c, ldc));
}
void tq2_gemm_i32_avx512vnni(const PackedWeights& w, const PreparedActivations& a, std::int64_t m0,
                             std::int64_t m1, std::int32_t* c, std::int64_t ldc) {
  tq2_gemm_avx512vnni(args_of(w, a, m0, m1, c, ldc));
}
void tq1_gemm_i32_scalar(const PackedWeights& w, const PreparedActivations& a, std::int64_t m0,
                         std::int64_t m1, std::int32_t* c, std::int64_t ldc) {
  tq1_gemm_scalar(args_of(w, a, m0, m1, c, ldc));
}
void tq1_gemm_i32_avx2(const PackedWeights& w, const PreparedActivations& a, std::int64_t m0,
                       std::int64_t m1, std::int32_t* c, std::int64_t ldc) {
  tq1_gemm_avx2(args_of(w, a, m0, m1, c, ldc));
}
void tq1_gemm_i32_avx512vnni(const PackedWeights& w, const PreparedActivations& a, std::int64_t m0,
                             std::int64_t m1, std::int32_t* c, std::int64_t ldc) {
  tq1_gemm_avx512vnni(args_of(w, a, m0, m1, c, ldc));
}

}  // namespace tritbench::tq
