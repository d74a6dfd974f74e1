#include "mantissa/sample.hpp"

#include <algorithm>
#include <cmath>
#include <sstream>
#include <vector>

#include "core/rng.hpp"
#include "jobs/stored_model.hpp"
#include "mantissa/error.hpp"
#include "model/kinds/layer_rules.hpp"

namespace mantissa {

namespace {

// The smallest vocabulary of the Embeddings reading the token ids.
std::int64_t token_vocabulary(Graph& graph) {
  std::int64_t vocab = 256;
  for (const LayerInfo& info : graph.summary().layers) {
    const LayerSpec& l = graph.layer(info.id).spec();
    if (detail::rules(l.kind).token_input) vocab = std::min(vocab, l.vocab);
  }
  return vocab;
}

// Why `graph` cannot continue text, or "" when it can.
std::string not_a_language_model(Graph& graph) {
  const LayerSpec& input = graph.layer(graph.summary().layers[0].id).spec();
  if (!input.tokens) return "its input is not token ids";
  if (graph.loss_kind() != LayerKind::SoftmaxCrossEntropy || graph.positions() < 2 ||
      graph.positions() != graph.input_shape()[0])
    return "it does not score the next token at every position ([T, vocabulary] logits)";
  if (graph.outputs_per_position() > 256)
    return "its vocabulary of " + std::to_string(graph.outputs_per_position()) +
           " is not bytes";
  // What it predicts must be something it can read back.
  const std::int64_t vocab = token_vocabulary(graph);
  if (graph.outputs_per_position() > vocab)
    return "it scores " + std::to_string(graph.outputs_per_position()) +
           " tokens but its Embedding reads only " + std::to_string(vocab);
  return {};
}

}  // namespace

std::string generate_text(Graph& graph, const SampleOptions& options) {
  if (const std::string why = not_a_language_model(graph); !why.empty())
    throw InputError("the model is not a language model: " + why);
  if (!(options.temperature >= 0.0) || !std::isfinite(options.temperature))
    throw InputError("temperature must be 0 or more, got " +
                     (std::ostringstream() << options.temperature).str());
  if (options.tokens < 0 || options.tokens > kMaxSampleTokens)
    throw InputError("tokens must be from 0 to " + std::to_string(kMaxSampleTokens) + ", got " +
                     std::to_string(options.tokens));
  Backend& backend = graph.backend();
  const std::int64_t T = graph.input_shape()[0], V = graph.outputs_per_position();
  const std::int64_t vocab = token_vocabulary(graph);
  std::vector<unsigned char> history(options.prompt.begin(), options.prompt.end());
  // A fresh start, as after a blank line (token 0 for a vocabulary without one).
  if (history.empty()) history.push_back(vocab > '\n' ? '\n' : 0);
  for (std::size_t i = 0; i < history.size(); ++i)
    if (history[i] >= vocab)
      throw InputError("the prompt's byte " + std::to_string(i) + " (" +
                       std::to_string(int(history[i])) + ") is outside the model's vocabulary of " +
                       std::to_string(vocab) + " tokens");
  Rng rng(options.seed);
  ExecContext ctx{backend, false, 0};
  graph.prepare_step();
  std::vector<float> window(static_cast<std::size_t>(T), 0.0f);
  std::vector<double> p(static_cast<std::size_t>(V));
  std::string text;
  for (std::int64_t n = 0; n < options.tokens; ++n) {
    // The window holds the last (at most T) bytes from position 0; causal
    // attention keeps the positions after them from mattering.
    const std::size_t filled = std::min<std::size_t>(history.size(), std::size_t(T));
    std::fill(window.begin(), window.end(), 0.0f);
    for (std::size_t i = 0; i < filled; ++i)
      window[i] = float(history[history.size() - filled + i]);
    Tensor x = Tensor::from_host(backend, Shape{1, T}, DType::F32, window.data());
    const Tensor out = graph.forward(ctx, x);
    std::vector<float> logits = out.to_host();
    graph.clear_saved();
    const float* row = logits.data() + (filled - 1) * std::size_t(V);
    int next = int(std::max_element(row, row + V) - row);
    if (options.temperature > 0.0) {
      const double top = row[next];
      double sum = 0.0;
      for (std::int64_t v = 0; v < V; ++v) {
        p[std::size_t(v)] = std::exp((double(row[v]) - top) / options.temperature);
        sum += p[std::size_t(v)];
      }
      double u = rng.uniform(0.0, sum);
      for (std::int64_t v = 0; v < V; ++v) {
        u -= p[std::size_t(v)];
        if (u <= 0.0 || v == V - 1) {
          next = int(v);
          break;
        }
      }
    }
    history.push_back(static_cast<unsigned char>(next));
    text.push_back(static_cast<char>(next));
    if (options.on_token && !options.on_token(static_cast<char>(next))) break;
  }
  return text;
}

SampleResult sample_run(RunStore& store, std::int64_t run_id, const SampleOptions& options) {
  StoredModel m = open_stored_model(store, run_id, options.checkpoint_step, options.backend,
                                    "sample from");
  if (const std::string why = not_a_language_model(*m.graph); !why.empty())
    throw InputError(m.label + " is not a language model: " + why);
  SampleResult r;
  r.run_id = m.run.id;
  r.step = m.checkpoint.step;
  r.prompt = options.prompt;
  r.text = generate_text(*m.graph, options);
  return r;
}

}  // namespace mantissa
