#pragma once
// Synthetic models as GGUF files in bitnet.cpp's layout (`tritbench synth`).
//
// The file is what bitnet.cpp's converter writes for BitNet b1.58 2B-4T (spec/bitnet-formats.md
// section 5), with SyntheticSource's weights: the same keys (general.*, <arch>.*,
// tokenizer.ggml.*), the same tensor names in the same order, I2_S BitLinear weights (bytes
// identical to i2s::encode_file of the canonical tensor, scale trailer included), F32 norms, an F16
// token embedding (which is also the output matrix when the preset is tied, as in 2B-4T; untied
// presets get an output.weight), general.file_type = 40 (bitnet.cpp's I2_S file type). So the file
// loads in bitnet.cpp as well as in tritbench, and reading it back gives exactly SyntheticSource's
// tensors.
//
// Writing streams: tensors are generated in slabs of at most a few tens of MB, each slab split
// across threads (every tensor is a random stream that can be entered anywhere, see
// SyntheticSource::ternary_range), so a 100B model goes to disk without ever being in memory and
// the output does not depend on the thread count.

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>

#include "models/gguf.h"
#include "models/weights.h"

namespace tritbench::models {

// Adds the KVs bitnet.cpp's converter writes for a BitNet model: general.architecture,
// general.name, <arch>.{vocab_size, context_length, embedding_length, block_count,
// feed_forward_length, rope.dimension_count, attention.head_count, attention.head_count_kv,
// attention.layer_norm_rms_epsilon, rope.freq_base}, general.file_type, the vocabulary
// (tokenizer.ggml.* and tokenizer.chat_template; scores as zeros when it has none, as the official
// gpt2 file carries them) if given, and general.quantization_version.
void add_bitnet_kvs(GgufWriter& w, const ModelConfig& c, const std::string& name,
                    std::uint32_t file_type, const TokenizerSpec* vocab);

struct SynthOptions {
  // Type of the output matrix: token_embd.weight when the preset is tied, output.weight otherwise
  // (an untied token_embd stays F16, only one row of it is read per token). F16, F32 or Q8_0.
  DType output_type = DType::kF16;
  int threads = 0;   // 0: all hardware threads
  std::string name;  // general.name; default "tritbench synthetic <preset> (seed <seed>)"
  // Called after each tensor (done of total, the tensor's name, bytes written so far).
  std::function<void(std::size_t done, std::size_t total, const std::string& name,
                     std::uint64_t bytes)>
      progress;
  // Checked between slabs: once it is true the write stops with a GgufError and removes its
  // temporary file (the target is left as it was). For SIGINT handlers.
  const std::atomic<bool>* stop = nullptr;
};

struct SynthResult {
  std::uint64_t bytes = 0;  // file size
  std::int64_t params = 0;
  std::size_t tensors = 0;
  double seconds = 0;
};

// One block of 32 floats as Q8_0 (fp16 d = max|x| / 127, then round(x / d)), as the writer stores
// output matrices; shared with the converter (models/convert.h).
void quantize_q8_0_block(const float* x, std::uint8_t* out);

// Writes `src` (its vocabulary, or synthetic_gpt2_vocab(vocab) if it has none) to `path` atomically.
// Throws GgufError / std::invalid_argument.
SynthResult write_synthetic_gguf(const SyntheticSource& src, const std::string& path,
                                 const SynthOptions& opt = {});

}  // namespace tritbench::models
