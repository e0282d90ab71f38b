// tritbench convert: a Hugging Face BitNet checkpoint folder to a GGUF file (the `synth` layout).
#include <unistd.h>

#include <cstdio>
#include <iostream>

#include "harness/commands.h"
#include "harness/lib/args.h"
#include "harness/lib/table.h"
#include "models/convert.h"
#include "models/hf_source.h"

namespace tritbench::cli {

int cmd_convert(int argc, char** argv) {
  Args args(argc, argv, 2, {"-o", "--output-type", "--name"}, {"--help", "-q"});
  if (args.has("--help")) {
    std::cout
        << R"(usage: tritbench convert HF_FOLDER -o OUT.gguf [--output-type f16|f32|q8_0] [--name NAME] [-q]

Converts a Hugging Face BitNet b1.58 checkpoint folder (config.json, model.safetensors or sharded
model-*.safetensors + model.safetensors.index.json, tokenizer.json, tokenizer_config.json) to a
GGUF file in the layout `tritbench synth` writes (bitnet.cpp's keys and tensor names, I2_S
BitLinear weights, F32 norms, F16 token embedding, general.file_type 40). No Python needed.

Architectures: BitNetForCausalLM (hidden_act relu2 -> bitnet-b1.58, e.g. BitNet-b1.58-2B-4T;
silu -> bitnet, e.g. 1bitLLM bitnet_b1_58-large/3B) and LlamaForCausalLM with
quantization_config.quant_method "bitnet" (Llama3-8B-1.58, Falcon3-*-1.58bit -> bitnet without
sub-norms). BitLinear weights: BF16/F16/F32 master weights are quantized with absmean; packed
uint8 weights are unpacked and their weight_scale applied as the config's linear_class defines
(bitlinear: divide, autobitlinear: multiply). Anything else is refused with the file and field.

The output appears atomically (temp file + rename): a failed conversion leaves nothing behind.

  -o FILE              output GGUF file
  --output-type TYPE   output matrix type: f16 (default), f32 or q8_0 (the tied embedding, or
                       output.weight when untied)
  --name NAME          general.name (default: the folder's name)
  -q                   no progress line

examples:
  tritbench convert bitnet-b1.58-2B-4T-bf16/ -o 2b4t.gguf
  tritbench convert Llama3-8B-1.58-100B-tokens/ -o llama3-8b-1.58.gguf
)";
    return 0;
  }
  if (args.positional().size() != 1)
    throw UsageError("expected exactly one HF_FOLDER (see --help)");
  const std::string folder = args.positional()[0];
  const std::string out = args.get("-o");
  if (out.empty()) throw UsageError("-o OUT.gguf is required");
  models::SynthOptions opt;
  const std::string type = args.get("--output-type", "f16");
  if (type == "f16" || type == "F16") {
    opt.output_type = models::DType::kF16;
  } else if (type == "f32" || type == "F32") {
    opt.output_type = models::DType::kF32;
  } else if (type == "q8_0" || type == "Q8_0") {
    opt.output_type = models::DType::kQ8_0;
  } else {
    throw UsageError("--output-type '" + type + "' is unknown (expected f16, f32 or q8_0)");
  }
  opt.name = args.get("--name");
  if (opt.name.empty()) {
    std::string base = folder;
    while (base.size() > 1 && base.back() == '/') base.pop_back();
    opt.name =
        base.substr(base.find_last_of('/') == std::string::npos ? 0 : base.find_last_of('/') + 1);
  }
  const bool progress = !args.has("-q") && ::isatty(2);
  if (progress)
    opt.progress = [](std::size_t done, std::size_t total, const std::string& name, std::uint64_t) {
      std::fprintf(stderr, "\r  %zu/%zu tensors  %-40s", done, total, name.c_str());
      if (done == total) std::fprintf(stderr, "\r%70s\r", "");
      std::fflush(stderr);
    };

  const models::HfSource src(folder);
  const models::ModelConfig& c = src.config();
  if (!src.tokenizer_note().empty())
    std::cerr << "warning: " << src.tokenizer_note()
              << ": the GGUF gets no vocabulary (generate needs one; copy the base model's "
                 "tokenizer.json and tokenizer_config.json into the folder)\n";
  const auto r = models::write_bitnet_gguf(src, out, opt);
  std::cout << "wrote " << out << " from " << folder << " (" << src.shards() << " shard"
            << (src.shards() > 1 ? "s" : "") << ")\n"
            << "  " << c.arch << ": " << c.layers << " layers, hidden " << c.hidden << ", ffn "
            << c.ffn << ", heads " << c.heads << "/" << c.kv_heads << ", vocab " << c.vocab
            << (c.tied ? ", tied" : ", untied") << (c.sub_norms ? "" : ", no sub-norms") << "\n"
            << "  BitLinear weights: " << src.weight_style() << " -> I2_S\n"
            << "  " << r.tensors << " tensors, " << r.bytes << " bytes in " << fmt(r.seconds, 2)
            << " s\n";
  return 0;
}

}  // namespace tritbench::cli
