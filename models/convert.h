#pragma once
// Any WeightSource as a GGUF file in the layout `tritbench synth` writes (models/synth.h): the keys
// of bitnet.cpp's converter (add_bitnet_kvs), the tensor names in the official file's order, I2_S
// BitLinear weights (i2s::encode_file of the canonical tensor, scale trailer included), F32 norms,
// an F16 token embedding (the output matrix too when tied) and an output matrix of
// SynthOptions::output_type when untied, general.file_type = 40. `tritbench convert` uses it for
// HF checkpoints; for a SyntheticSource it writes exactly the bytes write_synthetic_gguf does
// (tested), which is what "the same layout" means.
//
// Tensors are requested one at a time (a BitLinear is quantized or unpacked, encoded, written and
// dropped), so memory stays near the largest single tensor. The file appears atomically: on any
// error (a weight that does not fit F16, a bad tensor in the source) nothing is left at `path`.
//
// A source without sub-norms (ModelConfig::sub_norms false: Llama3 / Falcon3 1.58-bit) is written
// without those tensors under the "bitnet" architecture. tritbench's GgufSource reads that back;
// bitnet.cpp's "bitnet" graph requires sub-norms, so such a file is for tritbench only.

#include <string>

#include "models/synth.h"
#include "models/weights.h"

namespace tritbench::models {

// Writes `src` with its vocabulary (none if it has none) to `path`. opt.threads is unused (the
// source decides how tensors are produced); opt.name defaults to "tritbench " + src.describe().
// Throws GgufError / std::invalid_argument / the source's errors.
SynthResult write_bitnet_gguf(const WeightSource& src, const std::string& path,
                              const SynthOptions& opt = {});

}  // namespace tritbench::models
