# Project-wide compile settings as INTERFACE targets, linked by every target.
if(NOT CMAKE_BUILD_TYPE AND NOT CMAKE_CONFIGURATION_TYPES)
  set(CMAKE_BUILD_TYPE Release CACHE STRING "Build type" FORCE)
endif()
set(CMAKE_EXPORT_COMPILE_COMMANDS ON)

find_program(MANTISSA_CCACHE ccache)
if(MANTISSA_CCACHE)
  set(CMAKE_CXX_COMPILER_LAUNCHER "${MANTISSA_CCACHE}")
  set(CMAKE_CUDA_COMPILER_LAUNCHER "${MANTISSA_CCACHE}")
endif()

add_library(mantissa_options INTERFACE)
target_compile_features(mantissa_options INTERFACE cxx_std_20)

add_library(mantissa_warnings INTERFACE)
target_compile_options(mantissa_warnings INTERFACE
  $<$<COMPILE_LANGUAGE:CXX>:-Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor
                            -Wno-missing-field-initializers>)
