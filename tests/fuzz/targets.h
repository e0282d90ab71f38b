#pragma once
// Fuzz targets: each takes arbitrary bytes, feeds them to one reader, and returns normally whatever
// the bytes are. The documented failure mode of every reader is an exception derived from
// std::exception with a message (caught here); anything else (a crash, a sanitizer report, a hang,
// another exception type) is a finding. The same functions back the libFuzzer binaries
// (-DTRITBENCH_FUZZ=ON, clang) and the smoke test in the normal suite (tests/test_fuzz_smoke.cpp).

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace tritbench::fuzz {

int experiment(const std::uint8_t* data, std::size_t size);  // experiment-file parser
int tokenizer_encode(const std::uint8_t* data, std::size_t size);  // encode arbitrary bytes, round trip
int tokenizer_vocab(const std::uint8_t* data, std::size_t size);  // arbitrary vocabulary metadata
int gguf(const std::uint8_t* data, std::size_t size);  // GGUF reader + GgufSource, every tensor read
int safetensors(const std::uint8_t* data, std::size_t size);  // safetensors reader, every tensor read
int hf_json(const std::uint8_t* data, std::size_t size);  // config.json and tokenizer.json parsers

struct Target {
  const char* name;
  int (*fn)(const std::uint8_t*, std::size_t);
  // Valid inputs the target starts from (the seed corpus), generated, not stored.
  std::vector<std::string> (*seeds)();
};
const std::vector<Target>& targets();

// Writes the seeds of target `name` into `dir` (created) as seed0, seed1, ...: the libFuzzer
// binaries call it at start-up when TRITBENCH_FUZZ_WRITE_SEEDS names a folder (their corpus), so a
// campaign starts from the same generated seeds as the smoke test. Throws on an unknown name.
void write_seeds(const std::string& name, const std::string& dir);

}  // namespace tritbench::fuzz
