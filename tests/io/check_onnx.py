#!/usr/bin/env python3
"""Checks an exported ONNX model and compares what it computes with Mantissa.

    check_onnx.py MODEL --input X.npy --expected Y.npy --dtype f32|f16

1. onnx.checker.check_model with full_check (type and shape inference).
2. Opset 17, a symbolic batch dimension on input and output, float32 ends,
   no training-only operator left in the graph.
3. Runs the model on X, and on the first two rows of X (the batch dimension
   is dynamic): with onnxruntime when it is installed, otherwise with the NumPy
   evaluator below, which implements each operator from the ONNX specification
   and rounds every result to its output type. Outputs must match Y.
Problems are printed as "MISMATCH: ..." lines; the exit status is 1 if there
were any.
"""
import argparse
import math
import sys

import numpy as np
import onnx
from onnx import numpy_helper

TOLERANCE = {"f32": (1e-4, 1e-4), "f16": (1e-2, 1e-2)}  # rtol, atol
NP_TYPE = {onnx.TensorProto.FLOAT: np.float32, onnx.TensorProto.FLOAT16: np.float16,
           onnx.TensorProto.INT64: np.int64}


# ---- a reference evaluator for the operators the exporter writes ---------

def attrs_of(node):
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def windows(x, kernel, strides, pads, fill):
    """(N, C, H, W) -> (N, C, OH, OW, kh*kw) views of each pooling/conv window."""
    ph0, pw0, ph1, pw1 = pads
    xp = np.pad(x, ((0, 0), (0, 0), (ph0, ph1), (pw0, pw1)), constant_values=fill)
    kh, kw = kernel
    sh, sw = strides
    oh = (xp.shape[2] - kh) // sh + 1
    ow = (xp.shape[3] - kw) // sw + 1
    cols = [xp[:, :, i : i + sh * oh : sh, j : j + sw * ow : sw] for i in range(kh) for j in range(kw)]
    return np.stack(cols, axis=-1)


def conv(x, w, b, a):
    kernel = a.get("kernel_shape", list(w.shape[2:]))
    assert a.get("group", 1) == 1 and all(d == 1 for d in a.get("dilations", [1, 1]))
    cols = windows(x, kernel, a.get("strides", [1, 1]), a.get("pads", [0, 0, 0, 0]), 0.0)
    # cols: (N, C, OH, OW, kh*kw); w: (O, C, kh, kw)
    y = np.einsum("ncyxk,ock->noyx", cols, w.reshape(w.shape[0], w.shape[1], -1))
    return y if b is None else y + b.reshape(1, -1, 1, 1)


def pool(x, a, kind):
    pads = a.get("pads", [0, 0, 0, 0])
    strides = a.get("strides", [1, 1])
    kernel = a["kernel_shape"]
    if kind == "max":
        return windows(x, kernel, strides, pads, -np.inf).max(axis=-1)
    total = windows(x, kernel, strides, pads, 0.0).sum(axis=-1)
    if a.get("count_include_pad", 0):
        return total / (kernel[0] * kernel[1])
    count = windows(np.ones_like(x), kernel, strides, pads, 0.0).sum(axis=-1)
    return total / count


def reshape(x, shape):
    """ONNX Reshape (allowzero=0): a 0 copies the input's dimension, -1 is inferred."""
    dims = [int(x.shape[i]) if d == 0 else int(d) for i, d in enumerate(shape)]
    return x.reshape(dims)


def softmax(x, axis):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def run_node(node, v):
    a = attrs_of(node)
    op = node.op_type
    # Integer operands (shapes, indices, bounds) are read as they are.
    raw = [v[name] if name else None for name in node.input]
    x = [r.astype(np.float64) if r is not None and r.dtype.kind == "f" else r for r in raw]
    if op == "Reshape":
        return reshape(raw[0], x[1])
    if op == "Transpose":
        return np.transpose(raw[0], a.get("perm"))
    if op == "Gather":
        return np.take(raw[0], x[1], axis=a.get("axis", 0))
    if op == "Slice":
        starts, ends = x[1], x[2]
        axes = x[3] if len(x) > 3 else range(len(starts))
        index = [slice(None)] * raw[0].ndim
        for s_, e_, ax in zip(starts, ends, axes):
            index[int(ax)] = slice(int(s_), int(e_))
        return raw[0][tuple(index)]
    if op == "Gemm":
        A = x[0].T if a.get("transA", 0) else x[0]
        B = x[1].T if a.get("transB", 0) else x[1]
        y = a.get("alpha", 1.0) * (A @ B)
        if len(x) > 2:
            y = y + a.get("beta", 1.0) * x[2]
    elif op == "Conv":
        y = conv(x[0], x[1], x[2] if len(x) > 2 else None, a)
    elif op == "MaxPool":
        y = pool(x[0], a, "max")
    elif op == "AveragePool":
        y = pool(x[0], a, "avg")
    elif op == "GlobalAveragePool":
        y = x[0].mean(axis=(2, 3), keepdims=True)
    elif op == "Flatten":
        axis = a.get("axis", 1)
        y = x[0].reshape(int(np.prod(x[0].shape[:axis])), -1)
    elif op == "Relu":
        y = np.maximum(x[0], 0.0)
    elif op == "LeakyRelu":
        y = np.where(x[0] >= 0, x[0], a.get("alpha", 0.01) * x[0])
    elif op == "Tanh":
        y = np.tanh(x[0])
    elif op == "Sigmoid":
        y = 1.0 / (1.0 + np.exp(-x[0]))
    elif op == "Erf":
        y = np.vectorize(math.erf)(x[0])
    elif op in ("Add", "Sub", "Mul", "Div"):
        y = {"Add": np.add, "Sub": np.subtract, "Mul": np.multiply, "Div": np.divide}[op](x[0], x[1])
    elif op == "MatMul":
        y = np.matmul(x[0], x[1])
    elif op == "Sqrt":
        y = np.sqrt(x[0])
    elif op == "Softmax":
        y = softmax(x[0], a.get("axis", -1))
    elif op == "ReduceMean":
        y = x[0].mean(axis=tuple(a["axes"]), keepdims=bool(a.get("keepdims", 1)))
    elif op == "Identity":
        y = x[0]
    elif op == "Concat":
        y = np.concatenate(x, axis=a["axis"])
    elif op == "Cast":
        return v[node.input[0]].astype(NP_TYPE[a["to"]])
    elif op == "BatchNormalization":
        shape = (1, -1) + (1,) * (x[0].ndim - 2)
        scale, bias, mean, var = (t.reshape(shape) for t in x[1:5])
        y = (x[0] - mean) / np.sqrt(var + a.get("epsilon", 1e-5)) * scale + bias
    elif op == "LayerNormalization":
        assert a.get("axis", -1) == -1
        mean = x[0].mean(axis=-1, keepdims=True)
        var = ((x[0] - mean) ** 2).mean(axis=-1, keepdims=True)
        y = (x[0] - mean) / np.sqrt(var + a.get("epsilon", 1e-5)) * x[1]
        if len(x) > 2:
            y = y + x[2]
    else:
        raise NotImplementedError(f"operator {op} (node {node.name})")
    # Results take the type of the first input, as every operator here does.
    return y.astype(v[node.input[0]].dtype)


def evaluate(model, feed):
    g = model.graph
    values = {t.name: numpy_helper.to_array(t) for t in g.initializer}
    values.update(feed)
    for node in g.node:  # ONNX requires topological order
        values[node.output[0]] = run_node(node, values)
    return [values[o.name] for o in g.output]


def run(model_path, model, feed):
    try:
        import onnxruntime as ort
    except ImportError:
        return evaluate(model, feed), "the NumPy reference evaluator (onnxruntime is not installed)"
    session = ort.InferenceSession(model_path, providers=["CPUExecutionProvider"])
    return session.run(None, feed), f"onnxruntime {ort.__version__}"


# ---- checks ---------------------------------------------------------------

def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model")
    parser.add_argument("--input", required=True)
    parser.add_argument("--expected", required=True)
    parser.add_argument("--dtype", required=True, choices=sorted(TOLERANCE))
    args = parser.parse_args()
    problems = []

    model = onnx.load(args.model)
    onnx.checker.check_model(model, full_check=True)
    opsets = {o.domain: o.version for o in model.opset_import}
    if opsets.get("", opsets.get("ai.onnx")) != 17:
        problems.append(f"opset {opsets}, expected 17")
    g = model.graph
    for vi in list(g.input) + list(g.output):
        t = vi.type.tensor_type
        if t.elem_type != onnx.TensorProto.FLOAT:
            problems.append(f"{vi.name}: element type {t.elem_type}, expected float32")
        if t.shape.dim[0].dim_param != "N":
            problems.append(f"{vi.name}: batch dimension is not symbolic")
    for node in g.node:
        if node.op_type in ("Dropout", "SoftmaxCrossEntropyLoss", "MeanSquaredDistance"):
            problems.append(f"training-only node {node.op_type} ({node.name})")
    weight_types = {onnx.TensorProto.DataType.Name(t.data_type) for t in g.initializer}

    x = np.load(args.input)
    want = np.load(args.expected)
    rtol, atol = TOLERANCE[args.dtype]
    how = ""
    for rows in (x.shape[0], 2):
        (got,), how = run(args.model, model, {g.input[0].name: x[:rows]})
        if got.shape != want[:rows].shape:
            problems.append(f"output shape {got.shape}, expected {want[:rows].shape}")
            continue
        err = np.abs(got.astype(np.float64) - want[:rows])
        limit = atol + rtol * np.abs(want[:rows])
        if not np.all(err <= limit):
            i = np.unravel_index(np.argmax(err - limit), err.shape)
            problems.append(
                f"output differs on a batch of {rows}: at {tuple(int(k) for k in i)} "
                f"{float(got[i]):.6g} vs Mantissa's {float(want[:rows][i]):.6g} "
                f"(max abs error {err.max():.3g}, rtol {rtol}, atol {atol})")

    print(f"{args.model}: onnx.checker passed (onnx {onnx.__version__}); ran with {how}; "
          f"{len(g.node)} nodes, initializers {sorted(weight_types)}")
    if problems:
        for p in problems:
            print(f"MISMATCH: {p}")
        return 1
    print(f"outputs match Mantissa within rtol {rtol}, atol {atol}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
