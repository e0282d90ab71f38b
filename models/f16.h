#pragma once
// IEEE half and bfloat16 conversions, scalar and exact (round to nearest even).
// `static inline` on purpose: ISA-flagged translation units may include this header, and internal
// linkage keeps the linker from picking their (e.g. BMI2-compiled) copy for baseline callers.

#include <cstdint>
#include <cstring>

namespace tritbench {

static inline float f16_to_f32(std::uint16_t h) {
  const std::uint32_t sign = static_cast<std::uint32_t>(h & 0x8000) << 16;
  std::uint32_t exp = (h >> 10) & 0x1f, man = h & 0x3ff, bits;
  if (exp == 0) {
    if (man == 0) {
      bits = sign;
    } else {  // subnormal: normalize
      exp = 127 - 15 + 1;
      while (!(man & 0x400)) {
        man <<= 1;
        --exp;
      }
      bits = sign | (exp << 23) | ((man & 0x3ff) << 13);
    }
  } else if (exp == 0x1f) {
    bits = sign | 0x7f800000 | (man << 13);
  } else {
    bits = sign | ((exp + 127 - 15) << 23) | (man << 13);
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

static inline std::uint16_t f32_to_f16(float f) {
  std::uint32_t x;
  std::memcpy(&x, &f, 4);
  const std::uint32_t sign = (x >> 16) & 0x8000;
  const std::uint32_t absx = x & 0x7fffffff;
  if (absx >= 0x7f800000) return static_cast<std::uint16_t>(sign | 0x7c00 | (absx > 0x7f800000 ? 0x200 : 0));
  if (absx >= 0x477ff000) return static_cast<std::uint16_t>(sign | 0x7c00);  // rounds to >= 65520: inf
  if (absx < 0x38800000) {  // below the smallest normal half: subnormal or zero
    if (absx < 0x33000000) return static_cast<std::uint16_t>(sign);  // < 2^-25 rounds to 0
    const std::uint32_t e = absx >> 23, man = (absx & 0x7fffff) | 0x800000;
    const std::uint32_t shift = 126 - e;  // 14 + (113 - e)
    std::uint32_t r = man >> shift;
    const std::uint32_t rem = man & ((1u << shift) - 1), half = 1u << (shift - 1);
    if (rem > half || (rem == half && (r & 1))) ++r;
    return static_cast<std::uint16_t>(sign | r);
  }
  std::uint32_t r = ((absx >> 13) - ((127 - 15) << 10));
  const std::uint32_t rem = absx & 0x1fff;
  if (rem > 0x1000 || (rem == 0x1000 && (r & 1))) ++r;
  return static_cast<std::uint16_t>(sign | r);
}

static inline float bf16_to_f32(std::uint16_t h) {
  const std::uint32_t bits = static_cast<std::uint32_t>(h) << 16;
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

static inline std::uint16_t f32_to_bf16(float f) {
  std::uint32_t x;
  std::memcpy(&x, &f, 4);
  if ((x & 0x7fffffff) > 0x7f800000) return static_cast<std::uint16_t>((x >> 16) | 0x40);  // quiet NaN
  x += 0x7fff + ((x >> 16) & 1);
  return static_cast<std::uint16_t>(x >> 16);
}

}  // namespace tritbench
