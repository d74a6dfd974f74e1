// Finite-difference checks of every layer's backward pass, for inputs and
// parameters, in fp32, fp16 and bf16. The objective is f = sum(y * R) for a
// fixed random R, so backward(R) must equal df/dx. The numeric gradient is
// always taken on an fp32 twin of the layer (central differences); the
// analytic one comes from the layer in the dtype under test, and the relative
// L2 error over the checked elements must stay below the dtype's tolerance.
#include <gtest/gtest.h>

#include <cmath>
#include <memory>
#include <random>

#include "mantissa/backend.hpp"
#include "mantissa/graph.hpp"

namespace mantissa {
namespace {

struct Case {
  const char* name;
  LayerSpec spec;
  std::vector<Shape> input_shapes;  // per sample
  std::int64_t batch = 3;
  bool well_separated = false;      // inputs spaced apart (max pool, ReLU kinks)
};

double tolerance(DType d) {
  switch (d) {
    case DType::F32: return 1e-2;
    case DType::F16: return 2e-2;
    case DType::BF16: return 8e-2;
  }
  return 0;
}

Policy policy_for(DType d) {
  return d == DType::F32 ? Policy::Float32 : d == DType::F16 ? Policy::MixedFloat16
                                                             : Policy::MixedBFloat16;
}

Shape with_batch(std::int64_t n, const Shape& s) {
  std::vector<std::int64_t> d{n};
  d.insert(d.end(), s.dims().begin(), s.dims().end());
  return Shape(d);
}

// Values away from 0 and from each other, so kinks and argmax ties are not crossed by eps.
std::vector<float> random_values(std::int64_t n, std::mt19937& gen, bool separated) {
  std::vector<float> v(static_cast<std::size_t>(n));
  if (separated) {
    std::vector<int> perm(static_cast<std::size_t>(n));
    for (std::size_t i = 0; i < perm.size(); ++i) perm[i] = int(i);
    std::shuffle(perm.begin(), perm.end(), gen);
    for (std::size_t i = 0; i < v.size(); ++i) {
      float t = (float(perm[i]) + 0.5f) / float(n);  // (0, 1)
      v[i] = (t - 0.5f) * 4.0f + (t < 0.5f ? -0.1f : 0.1f);
    }
  } else {
    std::uniform_real_distribution<float> u(-1.5f, 1.5f);
    for (auto& x : v) x = u(gen);
  }
  return v;
}

class GradCheck {
 public:
  GradCheck(const Case& c, DType dtype) : c_(c), dtype_(dtype), backend_(create_backend("cpu")) {
    std::mt19937 gen(1234);
    for (const auto& s : c.input_shapes)
      inputs_.push_back(random_values(with_batch(c.batch, s).numel(), gen, c.well_separated));
    layer_ = make(dtype_);
    ref_ = make(DType::F32);
    Tensor y = run(*ref_, DType::F32);
    std::normal_distribution<float> n01(0.f, 1.f);
    r_.resize(std::size_t(y.numel()));
    for (auto& x : r_) x = n01(gen);
  }

  // The relative L2 error of the analytic gradient over sampled elements of
  // every input and parameter; returns the worst tensor's error.
  void check() {
    // Analytic, in the dtype under test.
    Tensor y = run(*layer_, dtype_);
    Tensor dy = Tensor::from_host(*backend_, y.shape(), layer_->dtype(), r_.data());
    std::vector<bool> need(inputs_.size(), true);
    ExecContext ctx{*backend_, true, 99};
    std::vector<Tensor> dx = layer_->backward(ctx, dy, need);
    ASSERT_EQ(dx.size(), inputs_.size()) << c_.name;

    for (std::size_t k = 0; k < inputs_.size(); ++k) {
      ASSERT_TRUE(dx[k].defined()) << c_.name << " input " << k;
      std::vector<float> analytic = dx[k].to_host();
      compare(analytic, "input " + std::to_string(k), [&](std::size_t i, float delta) {
        float saved = inputs_[k][i];
        inputs_[k][i] += delta;
        double f = objective();
        inputs_[k][i] = saved;
        return f;
      });
    }
    auto params = layer_->params();
    auto ref_params = ref_->params();
    ASSERT_EQ(params.size(), ref_params.size());
    for (std::size_t p = 0; p < params.size(); ++p) {
      std::vector<float> analytic = params[p]->grad.to_host();
      std::vector<float> master = ref_params[p]->master.to_host();
      compare(analytic, params[p]->name, [&](std::size_t i, float delta) {
        std::vector<float> m = master;
        m[i] += delta;
        ref_params[p]->master.copy_from_host(m.data());
        double f = objective();
        ref_params[p]->master.copy_from_host(master.data());
        return f;
      });
    }
  }

 private:
  std::unique_ptr<Layer> make(DType dtype) {
    auto layer = create_layer(c_.spec);
    const bool fp32_op = c_.spec.kind == LayerKind::LayerNorm ||
                         c_.spec.kind == LayerKind::GroupNorm || c_.spec.kind == LayerKind::Softmax;
    layer->set_dtype(fp32_op ? DType::F32 : dtype);
    layer->create_state(*backend_, policy_for(dtype), c_.input_shapes, 42);
    for (Param* p : layer->params())
      if (p->compute.data() != p->master.data()) backend_->cast(p->master, p->compute);
    return layer;
  }

  Tensor run(Layer& layer, DType dtype) {
    std::vector<Tensor> ins;
    for (std::size_t k = 0; k < inputs_.size(); ++k)
      ins.push_back(Tensor::from_host(*backend_, with_batch(c_.batch, c_.input_shapes[k]),
                                      layer.dtype() == DType::F32 ? DType::F32 : dtype,
                                      inputs_[k].data()));
    ExecContext ctx{*backend_, true, 99};
    return layer.forward(ctx, ins);
  }

  double objective() {
    std::vector<float> y = run(*ref_, DType::F32).to_host();
    double f = 0;
    for (std::size_t i = 0; i < y.size(); ++i) f += double(y[i]) * r_[i];
    return f;
  }

  template <class Eval>
  void compare(const std::vector<float>& analytic, const std::string& what, Eval eval) {
    const float eps = 1e-2f;
    std::mt19937 gen(7);
    std::vector<std::size_t> idx(analytic.size());
    for (std::size_t i = 0; i < idx.size(); ++i) idx[i] = i;
    std::shuffle(idx.begin(), idx.end(), gen);
    if (idx.size() > 40) idx.resize(40);
    double num = 0, den = 0;
    for (std::size_t i : idx) {
      double numeric = (eval(i, eps) - eval(i, -eps)) / (2.0 * eps);
      num += (analytic[i] - numeric) * (analytic[i] - numeric);
      den += numeric * numeric;
    }
    double rel = std::sqrt(num) / std::max(std::sqrt(den), 1e-6);
    EXPECT_LT(rel, tolerance(dtype_))
        << c_.name << " " << dtype_name(dtype_) << " gradient of " << what;
  }

  Case c_;
  DType dtype_;
  std::unique_ptr<Backend> backend_;
  std::unique_ptr<Layer> layer_, ref_;
  std::vector<std::vector<float>> inputs_;
  std::vector<float> r_;
};

LayerSpec spec(LayerKind kind, std::size_t inputs = 1) {
  LayerSpec s;
  s.id = std::string(layer_kind_name(kind));
  s.kind = kind;
  for (std::size_t i = 0; i < inputs; ++i) s.inputs.push_back("in" + std::to_string(i));
  return s;
}

std::vector<Case> cases() {
  std::vector<Case> out;
  {
    LayerSpec s = spec(LayerKind::Linear);
    s.out_features = 5;
    out.push_back({"Linear", s, {Shape{7}}});
  }
  {
    LayerSpec s = spec(LayerKind::Conv2d);
    s.out_channels = 4;
    s.kernel_h = s.kernel_w = 3;
    s.pad_h = s.pad_w = 1;
    out.push_back({"Conv2d", s, {Shape{2, 5, 6}}, 2});
  }
  {
    LayerSpec s = spec(LayerKind::Conv2d);
    s.out_channels = 3;
    s.kernel_h = 2;
    s.kernel_w = 3;
    s.stride_h = s.stride_w = 2;
    s.bias = false;
    out.push_back({"Conv2dStrided", s, {Shape{2, 7, 7}}, 2});
  }
  {
    LayerSpec s = spec(LayerKind::MaxPool2d);
    s.kernel_h = s.kernel_w = 2;
    s.stride_h = s.stride_w = 2;
    out.push_back({"MaxPool2d", s, {Shape{2, 4, 6}}, 2, true});
  }
  {
    LayerSpec s = spec(LayerKind::AvgPool2d);
    s.kernel_h = s.kernel_w = 3;
    s.stride_h = s.stride_w = 2;
    s.pad_h = s.pad_w = 1;
    out.push_back({"AvgPool2d", s, {Shape{2, 5, 5}}, 2});
  }
  out.push_back({"GlobalAvgPool", spec(LayerKind::GlobalAvgPool), {Shape{3, 4, 4}}, 2});
  out.push_back({"Flatten", spec(LayerKind::Flatten), {Shape{2, 3, 2}}});
  out.push_back({"ReLU", spec(LayerKind::ReLU), {Shape{11}}, 3, true});
  out.push_back({"LeakyReLU", spec(LayerKind::LeakyReLU), {Shape{11}}, 3, true});
  out.push_back({"GELU", spec(LayerKind::GELU), {Shape{11}}});
  out.push_back({"Tanh", spec(LayerKind::Tanh), {Shape{11}}});
  out.push_back({"Sigmoid", spec(LayerKind::Sigmoid), {Shape{11}}});
  {
    LayerSpec s = spec(LayerKind::Dropout);
    s.p = 0.3f;
    out.push_back({"Dropout", s, {Shape{16}}});
  }
  out.push_back({"BatchNorm2d", spec(LayerKind::BatchNorm), {Shape{3, 3, 2}}, 4});
  out.push_back({"BatchNorm1d", spec(LayerKind::BatchNorm), {Shape{5}}, 6});
  out.push_back({"LayerNorm", spec(LayerKind::LayerNorm), {Shape{9}}, 4});
  out.push_back({"Add", spec(LayerKind::Add, 2), {Shape{6}, Shape{6}}});
  out.push_back({"Add3", spec(LayerKind::Add, 3), {Shape{2, 3}, Shape{2, 3}, Shape{2, 3}}});
  out.push_back({"Concat", spec(LayerKind::Concat, 2), {Shape{2, 3, 3}, Shape{4, 3, 3}}, 2});
  // Sequences: [T, C] per sample.
  {
    LayerSpec s = spec(LayerKind::Linear);
    s.out_features = 5;
    out.push_back({"LinearSequence", s, {Shape{4, 7}}, 2});
  }
  out.push_back({"LayerNormSequence", spec(LayerKind::LayerNorm), {Shape{3, 8}}, 2});
  for (const bool causal : {true, false}) {
    LayerSpec s = spec(LayerKind::MultiHeadAttention);
    s.heads = 2;
    s.causal = causal;
    s.p = 0.0f;
    out.push_back({causal ? "AttentionCausal" : "Attention", s, {Shape{5, 8}}, 2});
  }
  {
    LayerSpec s = spec(LayerKind::MultiHeadAttention);
    s.heads = 4;
    s.p = 0.25f;  // the mask is a function of the seed: the same in every evaluation
    out.push_back({"AttentionDropout", s, {Shape{4, 8}}, 2});
  }
  {
    LayerSpec s = spec(LayerKind::PositionalEmbedding);
    s.max_length = 6;
    out.push_back({"PositionalEmbedding", s, {Shape{4, 5}}, 2});
  }
  out.push_back({"Softmax", spec(LayerKind::Softmax), {Shape{3, 6}}, 2});
  {
    LayerSpec s = spec(LayerKind::GroupNorm);
    s.groups = 2;
    out.push_back({"GroupNorm", s, {Shape{4, 3, 2}}, 3});
  }
  {
    LayerSpec s = spec(LayerKind::Reshape);
    s.shape = {3, 4};
    out.push_back({"Reshape", s, {Shape{2, 6}}, 2});
  }
  return out;
}

class LayerGradient : public ::testing::TestWithParam<std::tuple<std::size_t, DType>> {};

TEST_P(LayerGradient, MatchesFiniteDifferences) {
  auto [i, dtype] = GetParam();
  GradCheck(cases()[i], dtype).check();
}

std::string case_name(const ::testing::TestParamInfo<std::tuple<std::size_t, DType>>& info) {
  return std::string(cases()[std::get<0>(info.param)].name) + "_" +
         std::string(dtype_name(std::get<1>(info.param)));
}

INSTANTIATE_TEST_SUITE_P(AllLayers, LayerGradient,
                         ::testing::Combine(::testing::Range<std::size_t>(0, cases().size()),
                                            ::testing::Values(DType::F32, DType::F16,
                                                              DType::BF16)),
                         case_name);

// The losses: gradient of the mean loss times the scale.
TEST(LossGradient, SoftmaxCrossEntropyMatchesFiniteDifferences) {
  auto backend = create_backend("cpu");
  const std::int64_t n = 4, c = 5;
  std::mt19937 gen(3);
  std::vector<float> logits = random_values(n * c, gen, false);
  std::vector<float> labels{0, 3, 4, 1};
  auto loss_of = [&](const std::vector<float>& z, std::vector<float>* grad, float scale) {
    Tensor t = Tensor::from_host(*backend, Shape{n, c}, DType::F32, z.data());
    Tensor y = Tensor::from_host(*backend, Shape{n}, DType::F32, labels.data());
    Tensor s = Tensor::from_host(*backend, Shape{1}, DType::F32, &scale);
    Tensor loss = Tensor::empty(*backend, Shape{1}, DType::F32);
    Tensor dz = Tensor::empty(*backend, Shape{n, c}, DType::F32);
    auto layer = create_layer(spec(LayerKind::SoftmaxCrossEntropy));
    ExecContext ctx{*backend, true, 0};
    static_cast<LossLayer&>(*layer).loss_and_grad(ctx, t, y, s, loss, dz);
    if (grad) *grad = dz.to_host();
    return double(loss.to_host()[0]);
  };
  std::vector<float> grad;
  loss_of(logits, &grad, 8.0f);
  for (std::size_t i = 0; i < logits.size(); ++i) {
    auto zp = logits, zm = logits;
    zp[i] += 1e-2f;
    zm[i] -= 1e-2f;
    double numeric = (loss_of(zp, nullptr, 1) - loss_of(zm, nullptr, 1)) / 2e-2;
    EXPECT_NEAR(grad[i], 8.0 * numeric, 2e-3) << "logit " << i;
  }
}

TEST(LossGradient, MeanSquaredErrorMatchesFiniteDifferences) {
  auto backend = create_backend("cpu");
  const std::int64_t n = 3, d = 2;
  std::vector<float> pred{0.5f, -1.f, 2.f, 0.25f, 1.5f, -0.75f};
  std::vector<float> target{0.f, 1.f, 1.f, -1.f, 0.5f, 0.f};
  auto loss_of = [&](const std::vector<float>& p, std::vector<float>* grad) {
    float one = 1.0f;
    Tensor t = Tensor::from_host(*backend, Shape{n, d}, DType::F32, p.data());
    Tensor y = Tensor::from_host(*backend, Shape{n, d}, DType::F32, target.data());
    Tensor s = Tensor::from_host(*backend, Shape{1}, DType::F32, &one);
    Tensor loss = Tensor::empty(*backend, Shape{1}, DType::F32);
    Tensor dp = Tensor::empty(*backend, Shape{n, d}, DType::F32);
    auto layer = create_layer(spec(LayerKind::MSE));
    ExecContext ctx{*backend, true, 0};
    static_cast<LossLayer&>(*layer).loss_and_grad(ctx, t, y, s, loss, dp);
    if (grad) *grad = dp.to_host();
    return double(loss.to_host()[0]);
  };
  std::vector<float> grad;
  double l = loss_of(pred, &grad);
  double expected = 0;
  for (std::size_t i = 0; i < pred.size(); ++i)
    expected += (pred[i] - target[i]) * (pred[i] - target[i]);
  EXPECT_NEAR(l, expected / 6.0, 1e-6);
  for (std::size_t i = 0; i < pred.size(); ++i) {
    auto pp = pred, pm = pred;
    pp[i] += 1e-2f;
    pm[i] -= 1e-2f;
    EXPECT_NEAR(grad[i], (loss_of(pp, nullptr) - loss_of(pm, nullptr)) / 2e-2, 1e-3) << i;
  }
}

}  // namespace
}  // namespace mantissa
