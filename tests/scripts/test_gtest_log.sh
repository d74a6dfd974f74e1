#!/usr/bin/env bash
# gtest_outcomes / gtest_no_device_skips (scripts/common.sh) on fabricated
# GoogleTest logs.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=scripts/common.sh
source "$here/../../scripts/common.sh"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
failures=0
check() {  # check WHAT EXPECTED ACTUAL
  if [[ "$2" != "$3" ]]; then
    printf 'FAIL: %s\n  expected: %q\n  actual:   %q\n' "$1" "$2" "$3" >&2
    failures=$((failures + 1))
  fi
}

# Without a GPU: every GPU test skips with the driver's reason; the registry
# check of the no-GPU error runs. The list gtest repeats at the end must not
# count twice.
cat >"$work/no-gpu.log" <<'LOG'
Running main() from ./googletest/src/gtest_main.cc
[==========] Running 3 tests from 2 test suites.
[ RUN      ] CudaParity.FillIsBitIdentical
/src/tests/engine/test_cuda_parity.cpp:120: Skipped
no CUDA device: cudaGetDeviceCount failed: no CUDA-capable device is detected (cudaErrorNoDevice)
[  SKIPPED ] CudaParity.FillIsBitIdentical (0 ms)
[ RUN      ] CudaTraining.FiftyStepsOfEachPolicyMatchTheCpu
/src/tests/engine/test_cuda_training.cpp:41: Skipped
no CUDA device: cudaGetDeviceCount failed: CUDA driver version is insufficient for CUDA runtime version
[  SKIPPED ] CudaTraining.FiftyStepsOfEachPolicyMatchTheCpu (1 ms)
[ RUN      ] CudaRegistry.CreatingCudaWithoutAGpuIsAnInputErrorWithTheReason
[       OK ] CudaRegistry.CreatingCudaWithoutAGpuIsAnInputErrorWithTheReason (0 ms)
[==========] 3 tests from 2 test suites ran. (2 ms total)
[  PASSED  ] 1 test.
[  SKIPPED ] 2 tests, listed below:
[  SKIPPED ] CudaParity.FillIsBitIdentical
[  SKIPPED ] CudaTraining.FiftyStepsOfEachPolicyMatchTheCpu
LOG
check "no-GPU outcomes" $'NODEVICE CudaParity.FillIsBitIdentical\nNODEVICE CudaTraining.FiftyStepsOfEachPolicyMatchTheCpu\nPASS CudaRegistry.CreatingCudaWithoutAGpuIsAnInputErrorWithTheReason' \
  "$(gtest_outcomes "$work/no-gpu.log")"
check "no-GPU skips counted" 2 "$(gtest_no_device_skips "$work/no-gpu.log" | wc -l)"

# With a GPU: the registry check skips on purpose (another reason), a test
# fails, one passes, and the last one never finishes (a crash).
cat >"$work/gpu.log" <<'LOG'
[==========] Running 4 tests from 2 test suites.
[ RUN      ] CudaRegistry.CreatingCudaWithoutAGpuIsAnInputErrorWithTheReason
/src/tests/engine/test_cuda_host.cpp:61: Skipped
a CUDA device is present; covered by CudaParity
[  SKIPPED ] CudaRegistry.CreatingCudaWithoutAGpuIsAnInputErrorWithTheReason (0 ms)
[ RUN      ] CudaParity.MatmulWithinTheAccumulationBound
/src/tests/engine/test_cuda_parity.cpp:300: Failure
Expected: (err) <= (bound), actual: 0.5 vs 0.001
[  FAILED  ] CudaParity.MatmulWithinTheAccumulationBound (12 ms)
[ RUN      ] CudaParity.FillIsBitIdentical
[       OK ] CudaParity.FillIsBitIdentical (3 ms)
[ RUN      ] CudaTraining.CapturedStepsGiveTheBitsOfEagerSteps
terminate called after throwing an instance of 'mantissa::Error'
LOG
check "GPU outcomes" $'SKIP CudaRegistry.CreatingCudaWithoutAGpuIsAnInputErrorWithTheReason\nFAIL CudaParity.MatmulWithinTheAccumulationBound\nPASS CudaParity.FillIsBitIdentical\nUNFINISHED CudaTraining.CapturedStepsGiveTheBitsOfEagerSteps' \
  "$(gtest_outcomes "$work/gpu.log")"
check "intentional skip not counted" "" "$(gtest_no_device_skips "$work/gpu.log")"

# A failure whose message mentions the phrase is a failure, not a skip.
cat >"$work/mention.log" <<'LOG'
[ RUN      ] CudaRegistry.ListsCudaWithAReasonWhenUnavailable
x.cpp:1: Failure
reason was "no CUDA device: " with nothing after it
[  FAILED  ] CudaRegistry.ListsCudaWithAReasonWhenUnavailable (0 ms)
[  FAILED  ] 1 test, listed below:
[  FAILED  ] CudaRegistry.ListsCudaWithAReasonWhenUnavailable
LOG
check "failure mentioning the phrase" "FAIL CudaRegistry.ListsCudaWithAReasonWhenUnavailable" \
  "$(gtest_outcomes "$work/mention.log")"
check "failure mentioning the phrase is no skip" "" "$(gtest_no_device_skips "$work/mention.log")"

# gpu-check.sh counts with it rather than with every "[  SKIPPED ] Cuda" line.
# shellcheck disable=SC2016 # the text looked for, not an expansion
grep -q 'gtest_no_device_skips "\$log"' "$here/../../scripts/gpu-check.sh" ||
  { echo "FAIL: scripts/gpu-check.sh does not use gtest_no_device_skips" >&2; failures=$((failures + 1)); }

((failures == 0)) || exit 1
echo "gtest log reader: all checks passed"
