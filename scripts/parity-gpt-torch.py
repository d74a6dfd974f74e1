#!/usr/bin/env python3
"""Same-initial-weights parity of the peers' `gpt` with PyTorch.

PyTorch builds ../shared/peers' GPT (vocab 256, context 64, width 128, 4 heads,
4 pre-norm blocks) with seed 0 and writes its weights as safetensors under
Mantissa's names. Mantissa trains the same model (`mantissa bench`'s gpt
nodes, as a project) from those weights with `--init-weights`; both train the
same steps of SGD (lr 0.05, momentum 0.9) on one fixed batch of 32 windows of
a text (full-batch steps, so batch order cannot differ), and the per-step
losses are compared. Prints the largest relative difference per policy.

  /usr/bin/python3 scripts/parity-gpt-torch.py --mantissa build/app/mantissa [--steps 50]
"""
import argparse, json, os, struct, subprocess, sys, tempfile

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared", "peers"))
from torch_cpu_train import GPT, GPT_CFG  # noqa: E402

V, T, D, H, L = GPT_CFG["vocab"], GPT_CFG["ctx"], GPT_CFG["d"], GPT_CFG["heads"], GPT_CFG["layers"]
N = 32


def mantissa_names(model):
    out = {"embed.weight": model.wte.weight, "pos.weight": model.wpe.weight,
           "ln_f.weight": model.ln_f.weight, "ln_f.bias": model.ln_f.bias,
           "head.weight": model.head.weight}
    for i, b in enumerate(model.blocks, start=1):
        p = f"b{i}_"
        for ours, theirs in [("ln1", b.ln1), ("ln2", b.ln2), ("attn.qkv", b.qkv),
                             ("attn.proj", b.proj), ("fc", b.fc), ("fc2", b.fc2)]:
            out[p + ours + ".weight"] = theirs.weight
            out[p + ours + ".bias"] = theirs.bias
    return out


def write_safetensors(path, tensors):
    header, blobs, offset = {}, [], 0
    for name, t in tensors.items():
        data = t.detach().to(torch.float32).contiguous().numpy().tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def project(text_path, steps, policy):
    nodes = [{"id": "tokens", "type": "Input", "params": {"shape": [T], "tokens": True}},
             {"id": "embed", "type": "Embedding", "inputs": ["tokens"], "params": {"vocab": V, "width": D}},
             {"id": "pos", "type": "PositionalEmbedding", "inputs": ["embed"], "params": {"max_length": T}}]
    x = "pos"
    for i in range(1, L + 1):
        p = f"b{i}_"
        nodes += [{"id": p + "ln1", "type": "LayerNorm", "inputs": [x]},
                  {"id": p + "attn", "type": "MultiHeadAttention", "inputs": [p + "ln1"],
                   "params": {"heads": H, "causal": True}},
                  {"id": p + "res1", "type": "Add", "inputs": [x, p + "attn"]},
                  {"id": p + "ln2", "type": "LayerNorm", "inputs": [p + "res1"]},
                  {"id": p + "fc", "type": "Linear", "inputs": [p + "ln2"], "params": {"out_features": 4 * D}},
                  {"id": p + "gelu", "type": "GELU", "inputs": [p + "fc"]},
                  {"id": p + "fc2", "type": "Linear", "inputs": [p + "gelu"], "params": {"out_features": D}},
                  {"id": p + "res2", "type": "Add", "inputs": [p + "res1", p + "fc2"]}]
        x = p + "res2"
    nodes += [{"id": "ln_f", "type": "LayerNorm", "inputs": [x]},
              {"id": "head", "type": "Linear", "inputs": ["ln_f"], "params": {"out_features": V, "bias": False}},
              {"id": "loss", "type": "SoftmaxCrossEntropy", "inputs": ["head"]}]
    return {"format": "mantissa-project", "version": 1, "name": "parity-gpt",
            "dataset": {"kind": "text", "path": text_path, "context": T, "validation_fraction": 0},
            "model": {"nodes": nodes},
            "training": {"policy": policy, "batch_size": N, "steps": steps, "seed": 0,
                         "optimizer": {"type": "sgd", "lr": 0.05, "momentum": 0.9}}}


def torch_losses(model, x, y, steps, policy):
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    out = []
    for _ in range(steps):
        if policy == "mixed_bfloat16":
            with torch.autocast("cpu", dtype=torch.bfloat16):
                logits = model(x)
        else:
            logits = model(x)
        loss = F.cross_entropy(logits.float().reshape(-1, V), y.reshape(-1))
        opt.zero_grad()
        loss.backward()
        opt.step()
        out.append(loss.item())
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mantissa", required=True)
    ap.add_argument("--steps", type=int, default=50)
    ap.add_argument("--policies", nargs="+", default=["float32", "mixed_bfloat16"])
    # PRECISION.md: float32 within 1e-4 relative. mixed_bfloat16 differs by
    # design (Mantissa keeps the attention scores in fp32, autocast rounds
    # them to bf16), measured at 4e-5 over 50 steps; 1e-3 leaves room.
    ap.add_argument("--check", action="store_true", help="exit 1 past 1e-4 (float32) / 1e-3 (bf16)")
    args = ap.parse_args()
    limits = {"float32": 1e-4, "mixed_bfloat16": 1e-3}
    failed = False
    torch.manual_seed(0)
    torch.set_num_threads(2)
    work = tempfile.mkdtemp(prefix="mantissa-parity-")
    rng = np.random.default_rng(1234)
    data = rng.integers(0, V, N * T + 1, dtype=np.uint8).tobytes()
    text = os.path.join(work, "tokens.txt")
    with open(text, "wb") as f:
        f.write(data)
    ids = torch.tensor(list(data), dtype=torch.long)
    x = ids[:N * T].reshape(N, T)
    y = ids[1:N * T + 1].reshape(N, T)
    init = GPT(**GPT_CFG)
    weights = os.path.join(work, "init.safetensors")
    write_safetensors(weights, mantissa_names(init))
    for policy in args.policies:
        model = GPT(**GPT_CFG)
        model.load_state_dict(init.state_dict())
        theirs = torch_losses(model, x, y, args.steps, policy)
        proj = os.path.join(work, f"parity-{policy}.json")
        with open(proj, "w") as f:
            json.dump(project(text, args.steps, policy), f)
        db = os.path.join(work, f"{policy}.db")
        env = dict(os.environ, OMP_NUM_THREADS="2")
        run = json.loads(subprocess.run([args.mantissa, "train", proj, "--db", db, "--init-weights", weights,
                                         "--json"], check=True, capture_output=True, text=True, env=env).stdout)
        csv = subprocess.run([args.mantissa, "runs", "metrics", str(run["run_id"]), "--db", db, "--csv"],
                             check=True, capture_output=True, text=True).stdout.splitlines()
        col = csv[0].split(",").index("loss")
        ours = [float(line.split(",")[col]) for line in csv[1:]]
        rel = [abs(a - b) / abs(b) for a, b in zip(ours, theirs)]
        worst = max(range(len(rel)), key=lambda i: rel[i])
        print(f"{policy}: {len(ours)} steps, loss {ours[0]:.6f} -> {ours[-1]:.6f} (PyTorch {theirs[0]:.6f} -> "
              f"{theirs[-1]:.6f}); largest relative difference {rel[worst]:.2e} at step {worst + 1}; "
              f"step 1 {rel[0]:.2e}, step 10 {rel[min(9, len(rel) - 1)]:.2e}")
        if len(ours) != args.steps or rel[worst] > limits.get(policy, 1e-3):
            print(f"{policy}: FAILED (limit {limits.get(policy, 1e-3):.0e})")
            failed = True
    sys.exit(1 if args.check and failed else 0)


if __name__ == "__main__":
    main()
