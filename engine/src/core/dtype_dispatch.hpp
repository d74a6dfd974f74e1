#pragma once
// Instruction-set paths of the bulk conversion (core/dtype.cpp). convert() picks
// the widest path the CPU supports; tests run every supported path so that the
// narrower ones stay checked on machines that would never pick them.
#include <cstddef>
#include <string_view>

#include "mantissa/dtype.hpp"

namespace mantissa::detail {

enum class ConvertIsa { Scalar, Avx2, Avx512 };

ConvertIsa best_convert_isa();  // widest path this CPU and OS support
std::string_view convert_isa_name(ConvertIsa isa);

// convert() on an explicit path; isa must not exceed best_convert_isa().
void convert_with(ConvertIsa isa, const void* src, DType src_type, void* dst, DType dst_type,
                  std::size_t n);

}  // namespace mantissa::detail
