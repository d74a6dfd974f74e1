#!/usr/bin/env bash
# Same-initial-weights parity of the gpt workload with PyTorch
# (scripts/parity-gpt-torch.py --check): 50 full-batch SGD steps from the same
# weights, float32 within 1e-4 relative per step, mixed_bfloat16 within 1e-3.
# Skips where no python3 can import torch (the build machine's CI has none).
# Usage: test_parity_gpt_torch.sh MANTISSA
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
mantissa="${1:?usage: test_parity_gpt_torch.sh MANTISSA}"
python=""
for candidate in /usr/bin/python3 python3; do
  if command -v "$candidate" >/dev/null 2>&1 && "$candidate" -c 'import torch' >/dev/null 2>&1; then
    python="$candidate"
    break
  fi
done
[[ -n "$python" ]] || { echo "SKIPPED: no python3 with PyTorch (apt install python3-torch)"; exit 0; }
[[ -f "$here/../../../shared/peers/torch_cpu_train.py" ]] ||
  { echo "SKIPPED: no ../shared/peers/torch_cpu_train.py beside the checkout"; exit 0; }
exec "$python" "$here/../../scripts/parity-gpt-torch.py" --mantissa "$mantissa" --steps 50 --check
