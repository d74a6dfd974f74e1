#!/usr/bin/env python3
"""What PyTorch keeps for the backward pass of the peers' `gpt`, per policy.

One forward pass of ../shared/peers' GPT (batch 32 x 64 tokens) in float32 and
under bf16 autocast, with a saved-tensor hook that adds up the distinct
storages autograd keeps (parameters left out; autocast's bf16 weight copies
counted, as they are kept for the backward pass). The figure to set beside
`mantissa bench gpt`'s activation memory: it is PyTorch's own ratio of
mixed_bfloat16 to float32 for the same model, by a saved-tensor count rather
than an allocator's peak.

  /usr/bin/python3 scripts/peer-saved-activations.py
"""
import os, sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared", "peers"))
import torch_cpu_train as peer  # noqa: E402


def saved_bytes(model, x, y, bf16):
    seen = {}

    def pack(t):
        st = t.storage()
        seen[st.data_ptr()] = (st.nbytes(), str(t.dtype))
        return t

    autocast = torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16)
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        with autocast:
            logits = model(x)
            loss = F.cross_entropy(logits.float().view(-1, logits.shape[-1]), y.view(-1))
    params = {p.storage().data_ptr() for p in model.parameters()}
    by_dtype = {}
    for ptr, (n, dtype) in seen.items():
        if ptr not in params:
            by_dtype[dtype] = by_dtype.get(dtype, 0) + n
    loss.backward()
    return by_dtype


def main():
    torch.manual_seed(0)
    model = peer.GPT(**peer.GPT_CFG)
    v, t = peer.GPT_CFG["vocab"], peer.GPT_CFG["ctx"]
    x = torch.randint(0, v, (peer.GPT_BATCH, t))
    y = torch.randint(0, v, (peer.GPT_BATCH, t))
    totals = {}
    for name, bf16 in (("float32", False), ("mixed_bfloat16", True)):
        by_dtype = saved_bytes(model, x, y, bf16)
        totals[name] = sum(by_dtype.values())
        parts = ", ".join(f"{d.replace('torch.', '')} {b / 2**20:.2f} MiB" for d, b in sorted(by_dtype.items()))
        print(f"{name}: {totals[name] / 2**20:.2f} MiB saved for backward ({parts})")
    print(f"mixed_bfloat16 / float32: {100 * totals['mixed_bfloat16'] / totals['float32']:.1f} %")


if __name__ == "__main__":
    main()
