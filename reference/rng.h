#pragma once
// Deterministic random numbers for test data, synthetic models and benchmarks. splitmix64 is fully
// specified (unlike std::*_distribution), so the same seed gives the same data with any compiler
// and standard library; golden results depend on that.

#include <cmath>
#include <cstdint>

namespace tritbench {

class Rng {
 public:
  explicit Rng(std::uint64_t seed) : s_(seed) {}
  std::uint64_t next() {
    std::uint64_t z = (s_ += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  // Uniform in [0, n), n >= 1 (Lemire's multiply-shift; bias < n / 2^64).
  std::uint64_t below(std::uint64_t n) {
    __extension__ using u128 = unsigned __int128;
    return static_cast<std::uint64_t>((static_cast<u128>(next()) * n) >> 64);
  }
  // Uniform in [0, 1).
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
  // Standard normal (Box-Muller; one value per call, deterministic).
  double normal() {
    const double u1 = 1.0 - uniform(), u2 = uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  }
  std::int8_t ternary() { return static_cast<std::int8_t>(static_cast<int>(below(3)) - 1); }
  // Skips n draws of next() in O(1) (the state is a counter), so a long stream can be produced in
  // independent pieces: Rng(s).discard(n) continues exactly where n calls of next() would.
  void discard(std::uint64_t n) { s_ += n * 0x9e3779b97f4a7c15ull; }

 private:
  std::uint64_t s_;
};

}  // namespace tritbench
