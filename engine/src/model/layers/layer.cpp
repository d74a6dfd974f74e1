// Maps a layer kind to its implementation, through the kind's descriptor.
#include "model/kinds/layer_rules.hpp"

namespace mantissa {

std::unique_ptr<Layer> create_layer(const LayerSpec& spec) {
  return detail::rules(spec.kind).build(spec);
}

}  // namespace mantissa
