#pragma once
// What a kind's own file includes. It specialises KindDefinition<K> with
//   static LayerDescriptor make();
// and then instantiates descriptor_of<K>, which the registry links against:
//   template const LayerDescriptor& descriptor_of<LayerKind::Foo>();
// A LayerKind without such a file fails to link.
#include "model/kinds/layer_rules.hpp"
#include "model/kinds/param_schemas.hpp"

namespace mantissa::detail {

template <LayerKind K>
struct KindDefinition;

template <LayerKind K>
const LayerDescriptor& descriptor_of() {
  static const LayerDescriptor d = [] {
    LayerDescriptor made = KindDefinition<K>::make();
    made.kind = K;
    made.starter.kind = K;
    return made;
  }();
  return d;
}

}  // namespace mantissa::detail
