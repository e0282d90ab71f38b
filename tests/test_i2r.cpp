// I2_R16 specifics: the row-interleaved tile layout checked by hand, padding, and the K limit of
// the masked-plane GEMV accumulators.
#include <gtest/gtest.h>

#include <string>

#include "kernels/i2r/format.h"
#include "kernels/i2r/i2r.h"
#include "kernels/registry.h"
#include "kernels/runtime/gemm.h"

namespace tritbench {
namespace {

TEST(I2R, TileLayoutByHand) {
  // 20 x 40: two row groups of one quad (rows padded to 64), Kp = 48 (three column tiles; each holds
  // the quad's four 64-byte group tiles one after another). All weights 0 (code 1) except
  // (17, 21) = +1 and (3, 0) = -1.
  TernaryMatrix w{20, 40, std::vector<std::int8_t>(800, 0), 1.0f};
  w.w[17 * 40 + 21] = 1;
  w.w[3 * 40 + 0] = -1;
  PackedWeights p;
  i2r::pack(w, {}, p);
  ASSERT_EQ(p.Mp, 64);
  ASSERT_EQ(p.Kp, 48);
  ASSERT_EQ(p.data.size(), 64u * 48 / 4);
  // (17, 21): column tile 1 (+256), group 1 of the quad (+64), row 1 (+4), column 21 = 16 + 4*1 + 1:
  // plane 1 (bits 3:2) of byte j = 1.
  const std::size_t at = 256 + 64 + 4 + 1;
  // (3, 0): group 0, tile 0, row 3 (byte 12), plane 0 (bits 1:0), j = 0.
  for (std::size_t i = 0; i < p.data.size(); ++i) {
    const std::uint8_t expect = i == at ? 0x59 : i == 12 ? 0x54 : 0x55;
    ASSERT_EQ(p.data.data()[i], expect) << "byte " << i;
  }
  EXPECT_EQ(i2r::unpack(p).w, w.w);
}

TEST(I2R, KBeyondTheAccumulatorBoundIsRefused) {
  TernaryMatrix w{1, i2r::kMaxK + 1, std::vector<std::int8_t>(i2r::kMaxK + 1, 0), 1.0f};
  try {
    pack_weights(*find_kernel("i2r__scalar"), w);
    FAIL() << "K = 2^19 + 1 accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("K = 524289"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace tritbench
