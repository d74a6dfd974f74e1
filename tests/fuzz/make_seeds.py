#!/usr/bin/env python3
"""Writes the seed corpora in tests/fuzz/corpus/ from the test fixtures.

Usage: make_seeds.py SEED_DIR
SEED_DIR holds what the command line made from tests/fuzz/seed-project.json:

  mantissa train tests/fuzz/seed-project.json --db SEED_DIR/runs.db
  mantissa train tests/fuzz/seed-project.json --db SEED_DIR/runs.db --policy bf16 --steps 2
  for d in f32 f16 bf16; do
    mantissa export 1 --dtype $d -o SEED_DIR/seed.$d.safetensors --db SEED_DIR/runs.db
  done

Everything else (projects, CSV and IDX files like the unit tests write, damaged
databases) is written here. Seeds of the same name are overwritten.
"""
import hashlib
import shutil
import sqlite3
import struct
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "tests" / "fuzz" / "corpus"


def put(harness, data, name=None):
    if isinstance(data, str):
        data = data.encode()
    d = CORPUS / harness
    d.mkdir(parents=True, exist_ok=True)
    name = name or hashlib.sha1(data).hexdigest()[:16]
    (d / name).write_bytes(data)


def idx(type_code, dims, payload):
    return bytes([0, 0, type_code, len(dims)]) + b"".join(struct.pack(">I", d) for d in dims) + payload


def idx_pair(images, labels, scale=1):
    # fuzz_idx.cpp: byte 0 places the cut between the two files, byte 1 bit 0 = scale
    body = images + labels
    cut = len(images)
    for b0 in range(256):
        if len(body) * b0 // 255 == cut:
            return bytes([b0, scale]) + body
    return None


def projects():
    for f in sorted((ROOT / "projects").glob("*.json")) + sorted((ROOT / "tests/io/models").glob("*.json")):
        put("project_json", f.read_bytes(), f.stem)
    put("project_json", (ROOT / "tests/fuzz/seed-project.json").read_bytes(), "seed-project")
    # Every layer kind and optional section once, small enough to mutate.
    put("project_json", """{"format":"mantissa-project","version":1,"name":"all",
"dataset":{"kind":"csv","path":"d.csv","label_column":"y","normalize":false,"validation_fraction":0.1},
"model":{"nodes":[
{"id":"in","type":"Input","params":{"shape":[1,8,8]}},
{"id":"c","type":"Conv2d","inputs":["in"],"params":{"out_channels":2,"kernel":3,"stride":1,"padding":1,"init":"xavier_uniform"}},
{"id":"bn","type":"BatchNorm","inputs":["c"],"params":{"eps":1e-5,"momentum":0.1}},
{"id":"r","type":"LeakyReLU","inputs":["bn"],"params":{"negative_slope":0.1}},
{"id":"mp","type":"MaxPool2d","inputs":["r"],"params":{"kernel":2}},
{"id":"ap","type":"AvgPool2d","inputs":["r"],"params":{"kernel":2}},
{"id":"cat","type":"Concat","inputs":["mp","ap"]},
{"id":"g","type":"GlobalAvgPool","inputs":["cat"]},
{"id":"f","type":"Flatten","inputs":["g"]},
{"id":"l1","type":"Linear","inputs":["f"],"params":{"out_features":4,"bias":false},"pin_fp32":true},
{"id":"ln","type":"LayerNorm","inputs":["l1"]},
{"id":"ge","type":"GELU","inputs":["ln"]},
{"id":"s","type":"Sigmoid","inputs":["ge"]},
{"id":"t","type":"Tanh","inputs":["ge"]},
{"id":"add","type":"Add","inputs":["s","t"]},
{"id":"d","type":"Dropout","inputs":["add"],"params":{"p":0.2}},
{"id":"re","type":"ReLU","inputs":["d"]},
{"id":"o","type":"Linear","inputs":["re"],"params":{"out_features":1}},
{"id":"loss","type":"MSE","inputs":["o"]}]},
"training":{"policy":"mixed_bfloat16","loss_scale":{"mode":"fixed","init_scale":128,"min_scale":1,"max_scale":65536,"growth_factor":2,"backoff_factor":0.5,"growth_interval":100,"skip_nonfinite":true},
"optimizer":{"type":"sgd","lr":0.1,"momentum":0.9,"nesterov":true,"weight_decay":0.0001},
"schedule":{"type":"step","warmup_steps":10,"step_size":100,"gamma":0.5},
"batch_size":8,"steps":100,"seed":3,"clip_grad_norm":1.0,"checkpoint_every":50,"backend":"cuda:0","allow_tf32":true,"cuda_graphs":false}}
""", "all-kinds")
    put("project_json", """{"format":"mantissa-project","version":1,"dataset":{"kind":"idx","images":"a.idx","labels":"b.idx"},
"model":{"nodes":[{"id":"in","type":"Input","params":{"shape":[784]}},{"id":"fc","type":"Linear","inputs":["in"],"params":{"out_features":10,"init":"kaiming_normal"}},
{"id":"loss","type":"SoftmaxCrossEntropy","inputs":["fc"]}]},"training":{"optimizer":{"type":"adamw","lr":0.001,"beta1":0.9,"beta2":0.99,"eps":1e-8},"schedule":{"type":"cosine","min_lr":0}}}
""", "idx-adamw")


def csvs():
    for name, text in {
        "iris": "sepal_length,sepal_width,species\n5.1,3.5,setosa\n7.0,3.2,versicolor\r\n\n6.3,3.3,virginica\n",
        "classes": "1,dog\n2,cat\n3,dog\n",
        "numeric": "0.5,1,2\n-1e-3,+4,0\n7,8,2\n",
        "label-header": "1,2,label\n0.1,0.2,1\n0.3,0.4,0\n",
        "regression": "x,y\n1,0.5\n2,1.5\n3,-2\n",
        "quoted": "\"width, cm\",\"height\",kind\n1,\"2\",\"big, \"\"red\"\"\"\n3,4,\"two\nlines\"\n5,6,plain\n",
        "bom-crlf": "\ufeffa,b,c\r\n1,2,0\r\n3,4,1\r\n",
        "label-by-name": "species\0species,a,b\ncat,1,2\ndog,3,4\n",
        "label-by-index": "1\x001,7,2\n3,8,4\n",
        "bad-cells": "x,y\n1,0\nnan,1\n1e39,0\n-inf,2\n,3\n",
    }.items():
        put("csv", text, name)


def idxs():
    img = idx(0x08, [3, 2, 2], bytes(range(12)))
    lab = idx(0x08, [3], bytes([0, 1, 2]))
    put("idx", idx_pair(img, lab), "u8-rank3")
    imgf = idx(0x0D, [2, 3], b"".join(struct.pack(">f", v) for v in [0.5, -1, 2, 3, 4, 1e3]))
    labf = idx(0x0D, [2, 2], b"".join(struct.pack(">f", v) for v in [1, 2, 3, 4]))
    put("idx", idx_pair(imgf, labf, 0), "f32-regression")
    img4 = idx(0x08, [2, 1, 2, 2], bytes(range(8)))
    put("idx", idx_pair(img4, idx(0x08, [2], b"\x01\x00")), "u8-rank4")
    put("idx", idx_pair(idx(0x08, [4], b"\x01\x02\x03\x04"), idx(0x08, [4], b"\x00\x01\x00\x01")), "u8-rank1")


def from_cli(seed_dir):
    db = seed_dir / "runs.db"
    for f in sorted(seed_dir.glob("*.safetensors")):
        put("safetensors", f.read_bytes(), f.stem)
    con = sqlite3.connect(db)
    for run_id, step, data in con.execute("SELECT run_id, step, data FROM checkpoints ORDER BY run_id, step"):
        put("checkpoint", data, f"run{run_id}-step{step}")
    con.close()
    small = seed_dir / "runs-small.db"
    shutil.copy(db, small)
    con = sqlite3.connect(small)
    con.execute("PRAGMA journal_mode=DELETE")
    con.execute("PRAGMA page_size=512")
    con.execute("VACUUM")
    con.close()
    put("run_store", db.read_bytes(), "runs")
    data = small.read_bytes()
    put("run_store", data, "runs-512")
    # Damaged pages: a page of zeros, a torn b-tree header, a truncated file.
    for page in (2, 5, 9):
        b = bytearray(data)
        b[512 * page:512 * (page + 1)] = bytes(512)
        put("run_store", bytes(b), f"runs-512-zero-page{page}")
    b = bytearray(data)
    b[512 * 3 + 3:512 * 3 + 5] = b"\xff\xff"  # cell count of page 4
    put("run_store", bytes(b), "runs-512-bad-cells")
    put("run_store", data[: len(data) // 2], "runs-512-truncated")
    put("run_store", data[:100], "header-only")
    put("run_store", b"", "empty")


def main():
    seed_dir = Path(sys.argv[1])
    projects()
    csvs()
    idxs()
    from_cli(seed_dir)


if __name__ == "__main__":
    main()
