// tritbench generate: text generation with any registry kernel, streamed as it is produced.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <limits>
#include <sstream>
#include <thread>

#include "harness/commands.h"
#include "harness/lib/args.h"
#include "harness/lib/e2e_bench.h"
#include "harness/lib/table.h"
#include "kernels/registry.h"
#include "models/sampler.h"
#include "models/tokenizer.h"
#include "models/transformer.h"
#include "models/vocab_synthetic.h"

namespace tritbench::cli {

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

void emit(const std::string& s) {
  if (s.empty()) return;
  std::fwrite(s.data(), 1, s.size(), stdout);
  std::fflush(stdout);
}

std::string read_text_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw UsageError("-f: cannot open '" + path + "'");
  std::ostringstream ss;
  ss << f.rdbuf();
  if (f.bad()) throw UsageError("-f: cannot read '" + path + "'");
  return ss.str();
}

enum class Stop { kLength, kEog, kContext };

struct Totals {
  std::int64_t prompt_tokens = 0, gen_tokens = 0;
  double prompt_s = 0, gen_s = 0;
};

// One prompt + reply: prefills `prompt`, then samples up to n tokens, streaming their text.
// The end-of-generation token that stops a reply is neither printed nor fed to the model (the
// caller decides: chat feeds it with the next turn). `ids` receives the generated tokens.
struct Turn {
  Stop stop = Stop::kLength;
  std::int32_t eog = -1;  // the sampled end-of-generation token, if that stopped the reply
};

Turn run_turn(models::Transformer& tf, const models::Tokenizer& tok, models::Sampler& sampler,
              const std::vector<std::int32_t>& prompt, std::int64_t n, std::int64_t batch,
              bool ignore_eos, std::vector<float>& logits, std::vector<std::int32_t>& ids,
              Totals& totals) {
  Turn turn;
  const auto t0 = Clock::now();
  tf.prefill(prompt, batch, logits.data());
  totals.prompt_s += seconds_since(t0);
  totals.prompt_tokens += static_cast<std::int64_t>(prompt.size());

  models::TokenStreamer streamer(tok);
  const auto t1 = Clock::now();
  std::int64_t made = 0;
  while (made < n) {
    const std::int32_t id = sampler.sample(logits);
    if (!ignore_eos && tok.is_eog(id)) {
      turn.stop = Stop::kEog;
      turn.eog = id;
      break;
    }
    ids.push_back(id);
    ++made;
    emit(streamer.push(id));
    if (made == n) break;
    if (tf.position() >= tf.context()) {
      turn.stop = Stop::kContext;
      break;
    }
    tf.decode(id, logits.data());
  }
  emit(streamer.finish());
  totals.gen_s += seconds_since(t1);
  totals.gen_tokens += made;
  return turn;
}

std::string rate(std::int64_t tokens, double s) {
  return std::to_string(tokens) + " tokens in " + fmt(s, 3) + " s (" +
         (s > 0 ? fmt(static_cast<double>(tokens) / s, 2) : std::string("-")) + " tokens/s)";
}

const char* stop_name(Stop s) {
  switch (s) {
    case Stop::kLength:
      return "length (-n)";
    case Stop::kEog:
      return "end-of-generation token";
    case Stop::kContext:
      return "context full (-c)";
  }
  return "?";
}

// The chat template's rendering of one more user turn, for a conversation already in the KV
// cache: the template renders messages one after another, so a later turn is its own rendering
// without the leading bos.
std::vector<std::int32_t> encode_next_turn(const models::Tokenizer& tok, const std::string& text) {
  const models::ChatMessage m{"user", text};
  std::string s = tok.apply_chat_template(std::span(&m, 1), true);
  if (tok.bos() >= 0) {
    const std::string& bos_text = tok.spec().tokens[static_cast<std::size_t>(tok.bos())];
    if (s.rfind(bos_text, 0) == 0) s.erase(0, bos_text.size());
  }
  return tok.encode(s, /*add_special=*/false, /*parse_special=*/true);
}

}  // namespace

int cmd_generate(int argc, char** argv) {
  Args args(argc, argv, 2,
            {"-m", "--synthetic", "--weights-seed", "-p", "-f", "-n", "--temp", "--top-k",
             "--top-p", "--seed", "-k", "-t", "-c", "-b", "--system", "--output-type"},
            {"--help", "--chat", "--ignore-eos", "--ids", "--no-echo"});
  if (args.has("--help")) {
    std::cout
        << R"(usage: tritbench generate (-m MODEL | --synthetic PRESET [--weights-seed N]) (-p PROMPT | -f FILE)
                          [-n N] [--temp T] [--top-k K] [--top-p P] [--seed N] [-k KERNEL] [-t THREADS]
                          [-c CONTEXT] [-b BATCH] [--chat [--system TEXT]] [--ignore-eos] [--ids] [--no-echo]

Generates text from a prompt, printing it to stdout as it is produced. The prompt is echoed first
(--no-echo: only the generated text). A closing line on stderr gives the prompt and generation
tokens/s. Generation stops after -n tokens, at an end-of-generation token (eos, <|eot_id|>, ...;
not printed) unless --ignore-eos, or when the context is full.

  -m MODEL           a GGUF file (bitnet.cpp layout) or a Hugging Face checkpoint folder
  --synthetic PRESET a synthetic model (random weights: the text is gibberish) with a synthetic
                     vocabulary; --weights-seed N picks its weights (default 1, as `synth`)
  -p PROMPT          the prompt text (special tokens such as <|eot_id|> are recognized)
  -f FILE            read the prompt from FILE
  -n N               tokens to generate (default 128)
  --temp T           temperature (default 0.8; 0 = greedy)
  --top-k K          sample among the K most likely tokens (default 40; 0 = all)
  --top-p P          then among the smallest set with probability >= P (default 0.95; 1 = off)
  --seed N           sampler seed (default 1): the same seed gives the same text, with any kernel
                     or thread count
  -k KERNEL          registry kernel or family (default i2s: the best I2_S row this CPU runs)
  -t THREADS         threads (default: all hardware threads)
  -c CONTEXT         KV cache positions (default: the model's context length, at most 4096); a
                     prompt longer than this is refused before anything runs
  -b BATCH           prompt processing batch (default: the whole prompt at once)
  --output-type T    output matrix: auto (as stored), f16, f32, q8_0 (approximate)
  --chat             chat with the model's chat template (BitNet-b1.58-2B-4T or LLaMA-3 form):
                     -p (if given) is the first user turn, then one user turn per stdin line until
                     end of input; the KV cache is kept across turns
  --system TEXT      a system message for --chat
  --ignore-eos       do not stop at end-of-generation tokens (they are printed as text)
  --ids              print the generated token ids on stderr (one line per reply)

examples:
  tritbench generate -m ggml-model-i2_s.gguf -p "The capital of France is" -n 32 --temp 0
  tritbench generate -m bitnet-b1.58-2B-4T-bf16/ -p "Once upon a time" -n 64 --seed 3 -t 2
  tritbench generate -m ggml-model-i2_s.gguf --chat --system "You are a helpful assistant."
  tritbench generate --synthetic tiny -p "hello" -n 16 --ignore-eos
)";
    return 0;
  }
  if (args.has("-m") == args.has("--synthetic"))
    throw UsageError("give exactly one of -m MODEL or --synthetic PRESET");
  if (args.has("-p") && args.has("-f"))
    throw UsageError("give at most one of -p PROMPT or -f FILE");
  const bool chat = args.has("--chat");
  if (!chat && !args.has("-p") && !args.has("-f"))
    throw UsageError("a prompt is required: -p PROMPT or -f FILE (or --chat)");
  if (args.has("--system") && !chat) throw UsageError("--system needs --chat");
  const std::string prompt_text = args.has("-f") ? read_text_file(args.get("-f")) : args.get("-p");
  const std::int64_t n = args.integer("-n", 128, 0, 1 << 24);
  models::SamplerOptions so;
  so.temp = args.number("--temp", 0.8, 0, 1e6);
  so.top_k = args.integer("--top-k", 40, 0, std::numeric_limits<std::int32_t>::max());
  so.top_p = args.number("--top-p", 0.95, 0, 1);
  if (so.top_p <= 0) throw UsageError("--top-p: must be > 0 (1 = off)");
  so.seed = static_cast<std::uint64_t>(
      args.integer("--seed", 1, 0, std::numeric_limits<std::int64_t>::max()));
  const std::vector<const KernelInfo*> ks = resolve_kernels(args.get("-k", "i2s"));
  const KernelInfo& kernel = *ks.front();
  if (!runnable(kernel))
    throw UsageError("-k: kernel " + std::string(kernel.name) +
                     " cannot run here: " + why_not_runnable(kernel.isa));
  const int threads = static_cast<int>(
      args.integer("-t", std::max(1u, std::thread::hardware_concurrency()), 1, 1024));
  const std::int64_t batch = args.integer("-b", 0, 0, 1 << 20);
  const models::OutputType output = models::parse_output_type(args.get("--output-type", "auto"));

  // The model and its vocabulary.
  std::unique_ptr<models::WeightSource> src;
  const std::uint64_t wseed = static_cast<std::uint64_t>(
      args.integer("--weights-seed", 1, 0, std::numeric_limits<std::int64_t>::max()));
  if (args.has("--synthetic")) {
    try {
      src = e2e::open_model("synthetic:" + args.get("--synthetic"), wseed);
    } catch (const std::invalid_argument& e) {
      throw UsageError(std::string("--synthetic: ") + e.what());
    }
    auto* syn = dynamic_cast<models::SyntheticSource*>(src.get());
    if (syn && !syn->tokenizer())
      syn->set_tokenizer(models::synthetic_gpt2_vocab(syn->config().vocab));
  } else {
    if (args.has("--weights-seed")) throw UsageError("--weights-seed applies to --synthetic only");
    src = e2e::open_model(args.get("-m"), wseed);
  }
  const models::ModelConfig& cfg = src->config();
  if (!src->tokenizer())
    throw std::runtime_error(src->describe() +
                             ": the model has no vocabulary (GGUF tokenizer.ggml.* keys or HF "
                             "tokenizer.json), so text cannot be encoded");
  const models::Tokenizer tok(*src->tokenizer());
  if (tok.vocab_size() != cfg.vocab)
    throw std::runtime_error(src->describe() + ": the vocabulary has " +
                             std::to_string(tok.vocab_size()) + " tokens, the model " +
                             std::to_string(cfg.vocab));

  // The first prompt, checked against the context before any weight is packed.
  const std::int64_t ctx_max = args.has("-c") ? args.integer("-c", 0, 1, 1 << 20)
                                              : std::min<std::int64_t>(cfg.context, 4096);
  std::vector<models::ChatMessage> first;
  if (args.has("--system")) first.push_back({"system", args.get("--system")});
  std::vector<std::int32_t> prompt;
  if (chat) {
    if (tok.chat_format() == models::ChatFormat::kNone ||
        tok.chat_format() == models::ChatFormat::kUnknown)
      tok.apply_chat_template({}, true);  // throws the tokenizer's explanation
  } else {
    prompt = tok.encode(prompt_text);
    if (prompt.empty())
      throw UsageError(
          "the prompt is empty (and the vocabulary adds no bos token): nothing to "
          "condition on");
  }
  auto check_fits = [&](std::int64_t used, std::size_t more, const char* what) {
    if (used + static_cast<std::int64_t>(more) > ctx_max)
      throw std::runtime_error(
          std::string(what) + " is " + std::to_string(more) + " tokens" +
          (used > 0 ? " after " + std::to_string(used) + " in the cache" : "") +
          ", more than the context of " + std::to_string(ctx_max) +
          " positions (-c; the model's context_length is " + std::to_string(cfg.context) + ")");
  };
  if (!chat) check_fits(0, prompt.size(), "the prompt");

  ThreadPool pool(threads);
  const auto tp = Clock::now();
  models::Transformer tf(*src, kernel, pool, {.context = ctx_max, .output = output});
  std::cerr << "model " << src->describe() << " (" << cfg.arch << ", " << cfg.layers
            << " layers, hidden " << cfg.hidden << ", vocab " << cfg.vocab << "), kernel "
            << kernel.name << ", " << threads << " thread" << (threads > 1 ? "s" : "")
            << ", context " << ctx_max << ", loaded in " << fmt(seconds_since(tp), 2) << " s\n";

  models::Sampler sampler(so);
  std::vector<float> logits(static_cast<std::size_t>(cfg.vocab));
  Totals totals;
  Stop last = Stop::kLength;
  const bool ids_out = args.has("--ids");
  auto print_ids = [&](const std::vector<std::int32_t>& ids) {
    if (!ids_out) return;
    std::string s = "ids:";
    for (auto id : ids) {
      s += ' ';  // (not s += " " + ...: GCC 12 -Wrestrict false positive)
      s += std::to_string(id);
    }
    std::cerr << s << "\n";
  };

  if (!chat) {
    if (!args.has("--no-echo")) emit(prompt_text);
    std::vector<std::int32_t> ids;
    last =
        run_turn(tf, tok, sampler, prompt, n, batch, args.has("--ignore-eos"), logits, ids, totals)
            .stop;
    emit("\n");
    print_ids(ids);
  } else {
    // Each reply ends in the cache with the token that closes an assistant turn: the sampled
    // end-of-generation token, or <|eot_id|> (else eos) when -n cut the reply short.
    const std::int32_t eot =
        tok.find_token("<|eot_id|>") >= 0 ? tok.find_token("<|eot_id|>") : tok.eos();
    const bool interactive = ::isatty(0);
    bool first_turn = true;
    std::int32_t closing = -1;
    std::string line = prompt_text;
    bool have = args.has("-p") || args.has("-f");
    while (true) {
      if (!have) {
        if (interactive) std::cerr << "> " << std::flush;
        if (!std::getline(std::cin, line)) break;
        if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
      }
      have = false;
      std::vector<std::int32_t> turn_tokens;
      if (first_turn) {
        first.push_back({"user", line});
        turn_tokens = tok.encode_chat(first, true);
      } else {
        if (closing >= 0) turn_tokens.push_back(closing);
        const auto more = encode_next_turn(tok, line);
        turn_tokens.insert(turn_tokens.end(), more.begin(), more.end());
      }
      check_fits(tf.position(), turn_tokens.size(), first_turn ? "the first turn" : "this turn");
      first_turn = false;
      std::vector<std::int32_t> ids;
      const Turn t = run_turn(tf, tok, sampler, turn_tokens, n, batch, args.has("--ignore-eos"),
                              logits, ids, totals);
      emit("\n");
      print_ids(ids);
      last = t.stop;
      if (t.stop == Stop::kContext) break;
      closing = t.stop == Stop::kEog ? t.eog : eot;
    }
  }
  std::cerr << "prompt: " << rate(totals.prompt_tokens, totals.prompt_s)
            << " | generation: " << rate(totals.gen_tokens, totals.gen_s) << " | " << kernel.name
            << ", " << threads << " thread" << (threads > 1 ? "s" : "") << ", stopped by "
            << stop_name(last) << "\n";
  return 0;
}

}  // namespace tritbench::cli
