// A library the fake backend module below needs; the test hides it.
extern "C" int mantissa_test_stub_value() {
  return 42;
}
