#pragma once
// Whether two models hold the same layers: ids, kinds, wiring, the fp32 pin
// and every parameter each kind's descriptor lists (so a new parameter is
// compared without editing this).
#include <gtest/gtest.h>

#include "mantissa/layer_descriptor.hpp"
#include "mantissa/model.hpp"

namespace mantissa::testing {

inline void expect_same_layers(const ModelSpec& a, const ModelSpec& b) {
  ASSERT_EQ(a.layers.size(), b.layers.size());
  for (std::size_t i = 0; i < a.layers.size(); ++i) {
    const LayerSpec &x = a.layers[i], &y = b.layers[i];
    SCOPED_TRACE(x.id);
    EXPECT_EQ(x.id, y.id);
    EXPECT_EQ(x.kind, y.kind);
    EXPECT_EQ(x.inputs, y.inputs);
    EXPECT_EQ(x.pin_fp32, y.pin_fp32);
    for (const ParamSchema& p : descriptor(x.kind).params)
      EXPECT_EQ(param_value(x, p), param_value(y, p)) << p.key;
  }
}

}  // namespace mantissa::testing
