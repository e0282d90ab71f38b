// I2_S specifics: the bitnet.cpp file layout, byte for byte, and its refusal of bad data.
#include <gtest/gtest.h>

#include <cstring>
#include <limits>

#include "harness/lib/check.h"
#include "kernels/i2s/format.h"
#include "kernels/i2s/i2s.h"
#include "kernels/registry.h"
#include "kernels/runtime/gemm.h"

namespace tritbench {
namespace {

TEST(I2S, FileLayoutByHand) {
  // One block of 128: weight i = pattern(i). Byte p holds weights p, p+32, p+64, p+96 in bits
  // 7:6, 5:4, 3:2, 1:0 with -1 -> 0, 0 -> 1, +1 -> 2.
  TernaryMatrix w{1, 128, std::vector<std::int8_t>(128), 0.25f};
  const std::int8_t quarter[4] = {-1, 0, 1, -1};  // weights 0..31, 32..63, 64..95, 96..127
  for (int i = 0; i < 128; ++i) w.w[i] = quarter[i / 32];
  const auto bytes = i2s::encode_file(w);
  ASSERT_EQ(bytes.size(), 32u + 32u);
  for (int p = 0; p < 32; ++p) ASSERT_EQ(bytes[p], (0 << 6) | (1 << 4) | (2 << 2) | 0) << p;
  float scale;
  std::memcpy(&scale, bytes.data() + 32, 4);
  EXPECT_EQ(scale, 0.25f);
  for (int i = 36; i < 64; ++i) EXPECT_EQ(bytes[i], 0) << "trailer padding";
  EXPECT_EQ(i2s::file_bytes(2560, 6912), 2560ull * 6912 / 4 + 32);
}

TEST(I2S, FileRoundTripWithRowsStraddlingBlocks) {
  // 3B's FFN: K = 8640 is not a multiple of 128, the flattened tensor is.
  check::CaseData d;
  check::make_data({32, 8640, 1}, d);
  const auto bytes = i2s::encode_file(d.w);
  const TernaryMatrix back = i2s::decode_file(bytes.data(), bytes.size(), 32, 8640, "blk.0.ffn_down.weight");
  EXPECT_EQ(back.w, d.w.w);
  EXPECT_EQ(back.scale, d.w.scale);
}

TEST(I2S, PackedRowsEqualFileBytesWhenKIsAMultipleOf128) {
  check::CaseData d;
  check::make_data({6, 384, 1}, d);
  PackedWeights p = pack_weights(*find_kernel("i2s__scalar"), d.w);
  const auto bytes = i2s::encode_file(d.w);
  ASSERT_EQ(p.data.size() + i2s::kTrailerBytes, bytes.size());
  EXPECT_EQ(0, std::memcmp(p.data.data(), bytes.data(), p.data.size()));
}

TEST(I2S, DecodeRefusesBadData) {
  check::CaseData d;
  check::make_data({2, 128, 1}, d);
  auto bytes = i2s::encode_file(d.w);
  try {
    i2s::decode_file(bytes.data(), bytes.size() - 1, 2, 128, "t.weight");
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("t.weight"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("expected M*K/4 + 32 = 96"), std::string::npos) << e.what();
  }
  auto bad = bytes;
  bad[40] = 0xC0 | (bad[40] & 0x3f);  // code 3 in bits 7:6 of byte 8 of block 1 -> weight 136
  try {
    i2s::decode_file(bad.data(), bad.size(), 2, 128, "t.weight");
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("code 3"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("row 1, column 8"), std::string::npos) << e.what();
  }
  auto nan_scale = bytes;
  const float nan = std::numeric_limits<float>::quiet_NaN();
  std::memcpy(nan_scale.data() + 64, &nan, 4);
  EXPECT_THROW(i2s::decode_file(nan_scale.data(), nan_scale.size(), 2, 128, "t"), std::invalid_argument);
  TernaryMatrix odd{1, 100, std::vector<std::int8_t>(100), 1.0f};
  EXPECT_THROW(i2s::encode_file(odd), std::invalid_argument);
}

}  // namespace
}  // namespace tritbench
