// A backend module that cannot be loaded: it needs a library that is not on
// the search path, as the real CUDA module does on a machine without CUDA.
extern "C" int mantissa_test_stub_value();

extern "C" __attribute__((visibility("default"))) const void* mantissa_backend_plugin_v1() {
  return mantissa_test_stub_value() == 42 ? nullptr : nullptr;
}
