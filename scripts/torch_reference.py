#!/usr/bin/python3
"""Independent PyTorch reference for loom-tfjs' transformer runner and float decoding.

A plain PyTorch forward (torch_reference_models.py) written from the equations of the Hugging Face modeling files
(transformers: modeling_llama.py, modeling_mistral.py, modeling_qwen2.py, modeling_gpt2.py,
modeling_gpt_neox.py, modeling_rope_utils.py), with no code shared with loom-tfjs. It writes tiny
seeded random checkpoints (config.json + model.safetensors with Hugging Face tensor names) and the
logits this reference computes for them:

  - ``logits``: every position of one 10-token sequence, no cache;
  - ``decode``: prefill of that sequence into a KV cache, then 4 greedy steps (the logits each step
    picked its token from, and the tokens);
  - ``batch``: two left-padded rows (attention mask, position ids = cumsum(mask) - 1 as
    ``generate`` passes them), every position, then 3 cached greedy steps.

Numerics: weights are float32 (what the checkpoint stores); the forward runs in float64, except the
RoPE cos/sin tables, which are computed in float32 exactly as transformers computes them. It also
writes ``float16/``: F16/BF16 bytes produced by torch's own float32 -> float16/bfloat16 conversion
(round to nearest even) and the float64 values torch decodes them to.

Run (Debian bookworm: ``apt-get install -y python3-torch``, torch 1.13, numpy 1.24):

    /usr/bin/python3 scripts/torch_reference.py

Optional: ``--tiny-gpt2 DIR`` also writes ``gpt2_tiny_random/reference.json`` with this reference's
logits for the tiny-random-gpt2 checkpoint in DIR (``__tests__/fixtures/tiny-random-gpt2``).
The output is deterministic (seeded CPU generators, float64); rerunning rewrites identical files.
"""
import argparse
import json
import math
import os
import struct
import sys

import numpy as np
import torch

sys.dont_write_bytecode = True  # no __pycache__ in scripts/
from torch_reference_models import F64, Runner  # noqa: E402 (the forward equations)
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "__tests__", "fixtures", "torch_reference")

PROMPT_LEN = 10
DECODE_STEPS = 4
BATCH_STEPS = 3
PAD_LEFT = 4
# A greedy step must win by this margin (relative to the logits' spread) so that float32 rounding
# in the code under test cannot flip it; a case whose seed gives a closer race is rejected.
MIN_GREEDY_MARGIN = 1e-3


# ----------------------------------------------------------------------------------------------
# safetensors (written by hand: Debian bookworm packages no python3-safetensors). Format: 8-byte
# little-endian header length, JSON header {name: {dtype, shape, data_offsets}}, padded with spaces
# to a multiple of 8, then the raw little-endian data.


def write_safetensors(path, tensors, metadata=None):
    header = {}
    blobs = []
    offset = 0
    for name in sorted(tensors):
        dtype, shape, raw = tensors[name]
        header[name] = {"dtype": dtype, "shape": list(shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    if metadata:
        header["__metadata__"] = metadata
    text = json.dumps(header, separators=(",", ":"))
    text += " " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text.encode("ascii"))
        for b in blobs:
            f.write(b)


def f32_entry(t):
    a = t.detach().to(torch.float32).contiguous().numpy().astype("<f4")
    return ("F32", a.shape, a.tobytes())


def read_safetensors_f32(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + n])
    base = 8 + n
    out = {}
    for name, e in header.items():
        if name == "__metadata__":
            continue
        if e["dtype"] != "F32":
            raise SystemExit(f"{path}: {name} is {e['dtype']}, this reader handles F32 only")
        b, end = e["data_offsets"]
        arr = np.frombuffer(data[base + b : base + end], dtype="<f4").reshape(e["shape"])
        out[name] = torch.from_numpy(arr.copy())
    return out


def greedy_pick(logits, where):
    top = torch.topk(logits, 2)
    spread = float(logits.max() - logits.min())
    margin = float(top.values[0] - top.values[1])
    if margin < MIN_GREEDY_MARGIN * spread:
        raise SystemExit(f"{where}: greedy margin {margin:.3g} too small (spread {spread:.3g}); change the seed")
    return int(top.indices[0])


def rounded(t):
    """Nested lists of floats at 9 significant digits (float32 carries ~7.2)."""
    def r(v):
        if isinstance(v, list):
            return [r(x) for x in v]
        if not math.isfinite(v):
            raise SystemExit("non-finite reference value")
        return float(f"{v:.9g}")
    return r(t.tolist())


def reference_outputs(name, cfg, weights, seq, batch_rows):
    r = Runner(cfg, weights)
    v = cfg["vocab_size"]
    # 1. every position, no cache
    logits = r.run([seq], [[1] * len(seq)], None, 0)[0]
    # 2. prefill + greedy steps with a cache
    cache = []
    step = r.run([seq], [[1] * len(seq)], cache, 0)[0, -1]
    step_logits, tokens = [step], []
    for i in range(DECODE_STEPS):
        tok = greedy_pick(step, f"{name} decode step {i}")
        tokens.append(tok)
        if i == DECODE_STEPS - 1:
            break
        total = len(seq) + len(tokens)
        step = r.run([[tok]], [[1] * total], cache, total - 1)[0, -1]
        step_logits.append(step)
    # 3. left-padded batch: all positions, then greedy steps with a cache
    width = max(len(row) for row in batch_rows)
    ids = [[0] * (width - len(row)) + row for row in batch_rows]
    mask = [[0] * (width - len(row)) + [1] * len(row) for row in batch_rows]
    cache = []
    b_logits = r.run(ids, mask, cache, 0)
    b_step = b_logits[:, -1]
    b_steps, b_tokens = [b_step], []
    for i in range(BATCH_STEPS):
        toks = [greedy_pick(b_step[j], f"{name} batch row {j} step {i}") for j in range(len(ids))]
        b_tokens.append(toks)
        if i == BATCH_STEPS - 1:
            break
        mask = [m + [1] for m in mask]
        b_step = r.run([[t] for t in toks], mask, cache, len(mask[0]) - 1)[:, -1]
        b_steps.append(b_step)
    pad_mask = torch.tensor([[0] * (width - len(row)) + [1] * len(row) for row in batch_rows], dtype=torch.bool)
    b_logits = b_logits.masked_fill(~pad_mask[:, :, None], 0.0)  # pad rows are not compared
    return {
        "ids": seq,
        "logits": rounded(logits),
        "decode": {"prompt": seq, "tokens": tokens, "step_logits": rounded(torch.stack(step_logits))},
        "batch": {
            "ids": ids,
            "attention_mask": [[0] * (width - len(row)) + [1] * len(row) for row in batch_rows],
            "logits": rounded(b_logits),
            "tokens": b_tokens,
            "step_logits": rounded(torch.stack(b_steps)),
        },
        "vocab_size": v,
    }


# ----------------------------------------------------------------------------------------------
# Tiny checkpoints


D, LAYERS, VOCAB, INNER = 16, 2, 48, 32


def rand(gen, *shape, scale=1.0, offset=0.0):
    return (torch.randn(*shape, generator=gen, dtype=torch.float32) * scale + offset).to(torch.float32)


def llama_like(case):
    """config + weights for llama / mistral / qwen2 cases."""
    gen = torch.Generator().manual_seed(case["seed"])
    mt = case["model_type"]
    nh, nkv = case.get("heads", 2), case.get("kv_heads", 1)
    hd = D // nh
    cfg = {
        "architectures": [{"llama": "LlamaForCausalLM", "mistral": "MistralForCausalLM", "qwen2": "Qwen2ForCausalLM"}[mt]],
        "model_type": mt,
        "vocab_size": VOCAB,
        "hidden_size": D,
        "intermediate_size": INNER,
        "num_hidden_layers": LAYERS,
        "num_attention_heads": nh,
        "num_key_value_heads": nkv,
        "max_position_embeddings": case.get("max_position_embeddings", 32),
        "rms_norm_eps": 1e-6,
        "rope_theta": case.get("theta", 10000.0),
        "rope_scaling": case.get("rope_scaling"),
        "hidden_act": "silu",
        "tie_word_embeddings": case.get("tied", False),
        "bos_token_id": 1,
        "eos_token_id": 2,
        "torch_dtype": "float32",
    }
    if mt == "mistral":
        cfg["sliding_window"] = case["sliding_window"]
    if mt == "qwen2":
        cfg.update({"use_sliding_window": False, "sliding_window": 4096, "max_window_layers": LAYERS})
    fan = 1 / math.sqrt(D)
    w = {"model.embed_tokens.weight": rand(gen, VOCAB, D), "model.norm.weight": rand(gen, D, scale=0.1, offset=1.0)}
    if not cfg["tie_word_embeddings"]:
        w["lm_head.weight"] = rand(gen, VOCAB, D, scale=fan)
    qkv_bias = mt == "qwen2"
    for i in range(LAYERS):
        p = f"model.layers.{i}."
        w[p + "input_layernorm.weight"] = rand(gen, D, scale=0.1, offset=1.0)
        w[p + "post_attention_layernorm.weight"] = rand(gen, D, scale=0.1, offset=1.0)
        w[p + "self_attn.q_proj.weight"] = rand(gen, nh * hd, D, scale=2 * fan)
        w[p + "self_attn.k_proj.weight"] = rand(gen, nkv * hd, D, scale=2 * fan)
        w[p + "self_attn.v_proj.weight"] = rand(gen, nkv * hd, D, scale=fan)
        w[p + "self_attn.o_proj.weight"] = rand(gen, D, nh * hd, scale=fan)
        if qkv_bias:
            w[p + "self_attn.q_proj.bias"] = rand(gen, nh * hd, scale=0.5)
            w[p + "self_attn.k_proj.bias"] = rand(gen, nkv * hd, scale=0.5)
            w[p + "self_attn.v_proj.bias"] = rand(gen, nkv * hd, scale=0.5)
        w[p + "mlp.gate_proj.weight"] = rand(gen, INNER, D, scale=fan)
        w[p + "mlp.up_proj.weight"] = rand(gen, INNER, D, scale=fan)
        w[p + "mlp.down_proj.weight"] = rand(gen, D, INNER, scale=1 / math.sqrt(INNER))
    ref = dict(cfg, head_dim=hd, rotary_dim=hd, theta=cfg["rope_theta"])
    return cfg, w, ref


def gpt2(case):
    gen = torch.Generator().manual_seed(case["seed"])
    nh = 2
    cfg = {
        "architectures": ["GPT2LMHeadModel"],
        "model_type": "gpt2",
        "vocab_size": VOCAB,
        "n_embd": D,
        "n_layer": LAYERS,
        "n_head": nh,
        "n_positions": 32,
        "n_inner": None,
        "activation_function": "gelu_new",
        "layer_norm_epsilon": 1e-5,
        "bos_token_id": 1,
        "eos_token_id": 2,
        "torch_dtype": "float32",
    }
    fan = 1 / math.sqrt(D)
    p = "transformer."
    w = {
        p + "wte.weight": rand(gen, VOCAB, D),
        p + "wpe.weight": rand(gen, 32, D, scale=0.5),
        p + "ln_f.weight": rand(gen, D, scale=0.1, offset=1.0),
        p + "ln_f.bias": rand(gen, D, scale=0.1),
    }
    for i in range(LAYERS):
        q = f"{p}h.{i}."
        for ln in ("ln_1", "ln_2"):
            w[q + ln + ".weight"] = rand(gen, D, scale=0.1, offset=1.0)
            w[q + ln + ".bias"] = rand(gen, D, scale=0.1)
        w[q + "attn.c_attn.weight"] = rand(gen, D, 3 * D, scale=2 * fan)  # Conv1D: (in, out)
        w[q + "attn.c_attn.bias"] = rand(gen, 3 * D, scale=0.3)
        w[q + "attn.c_proj.weight"] = rand(gen, D, D, scale=fan)
        w[q + "attn.c_proj.bias"] = rand(gen, D, scale=0.1)
        w[q + "mlp.c_fc.weight"] = rand(gen, D, 4 * D, scale=fan)
        w[q + "mlp.c_fc.bias"] = rand(gen, 4 * D, scale=0.1)
        w[q + "mlp.c_proj.weight"] = rand(gen, 4 * D, D, scale=0.5 / math.sqrt(D))
        w[q + "mlp.c_proj.bias"] = rand(gen, D, scale=0.1)
    return cfg, w, dict(cfg)


def gpt_neox(case):
    gen = torch.Generator().manual_seed(case["seed"])
    nh = 2
    hd = D // nh
    cfg = {
        "architectures": ["GPTNeoXForCausalLM"],
        "model_type": "gpt_neox",
        "vocab_size": VOCAB,
        "hidden_size": D,
        "intermediate_size": INNER,
        "num_hidden_layers": LAYERS,
        "num_attention_heads": nh,
        "max_position_embeddings": 32,
        "rotary_pct": 0.5,
        "rotary_emb_base": 10000,
        "layer_norm_eps": 1e-5,
        "hidden_act": "gelu",
        "use_parallel_residual": case["parallel"],
        "tie_word_embeddings": False,
        "bos_token_id": 0,
        "eos_token_id": 0,
        "torch_dtype": "float32",
    }
    fan = 1 / math.sqrt(D)
    w = {
        "gpt_neox.embed_in.weight": rand(gen, VOCAB, D),
        "gpt_neox.final_layer_norm.weight": rand(gen, D, scale=0.1, offset=1.0),
        "gpt_neox.final_layer_norm.bias": rand(gen, D, scale=0.1),
        "embed_out.weight": rand(gen, VOCAB, D, scale=fan),
    }
    for i in range(LAYERS):
        p = f"gpt_neox.layers.{i}."
        for ln in ("input_layernorm", "post_attention_layernorm"):
            w[p + ln + ".weight"] = rand(gen, D, scale=0.1, offset=1.0)
            w[p + ln + ".bias"] = rand(gen, D, scale=0.1)
        w[p + "attention.query_key_value.weight"] = rand(gen, 3 * D, D, scale=2 * fan)
        w[p + "attention.query_key_value.bias"] = rand(gen, 3 * D, scale=0.3)
        w[p + "attention.dense.weight"] = rand(gen, D, D, scale=fan)
        w[p + "attention.dense.bias"] = rand(gen, D, scale=0.1)
        w[p + "mlp.dense_h_to_4h.weight"] = rand(gen, INNER, D, scale=fan)
        w[p + "mlp.dense_h_to_4h.bias"] = rand(gen, INNER, scale=0.1)
        w[p + "mlp.dense_4h_to_h.weight"] = rand(gen, D, INNER, scale=1 / math.sqrt(INNER))
        w[p + "mlp.dense_4h_to_h.bias"] = rand(gen, D, scale=0.1)
    ref = dict(cfg, rotary_dim=int(hd * cfg["rotary_pct"]), theta=float(cfg["rotary_emb_base"]))
    return cfg, w, ref


CASES = [
    {"name": "llama", "build": llama_like, "model_type": "llama", "seed": 11, "heads": 2, "kv_heads": 1,
     "what": "LlamaForCausalLM, GQA 2:1, untied head, default RoPE"},
    {"name": "llama_linear", "build": llama_like, "model_type": "llama", "seed": 12,
     "rope_scaling": {"type": "linear", "factor": 4.0}, "what": "rope_scaling linear, factor 4"},
    {"name": "llama_dynamic", "build": llama_like, "model_type": "llama", "seed": 13, "max_position_embeddings": 8,
     "rope_scaling": {"type": "dynamic", "factor": 2.0},
     "what": "rope_scaling dynamic (NTK), factor 2, max_position_embeddings 8 < the 10-14 positions run"},
    {"name": "llama3", "build": llama_like, "model_type": "llama", "seed": 14, "max_position_embeddings": 128,
     "rope_scaling": {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0, "original_max_position_embeddings": 64},
     "what": "rope_scaling llama3: wavelengths 6.3 (kept), 63 (smoothed), 628 and 6283 (divided by 8)"},
    {"name": "mistral", "build": llama_like, "model_type": "mistral", "seed": 15, "sliding_window": 4, "theta": 1e6,
     "what": "MistralForCausalLM, sliding_window 4 over 10-14 positions"},
    {"name": "qwen2", "build": llama_like, "model_type": "qwen2", "seed": 16, "tied": True, "theta": 1e6,
     "what": "Qwen2ForCausalLM, q/k/v biases, tied head"},
    {"name": "gpt2", "build": gpt2, "seed": 17, "what": "GPT2LMHeadModel, learned positions, Conv1D, gelu_new"},
    {"name": "gpt_neox", "build": gpt_neox, "seed": 18, "parallel": True,
     "what": "GPTNeoXForCausalLM, parallel residual, rotary_pct 0.5"},
    {"name": "gpt_neox_sequential", "build": gpt_neox, "seed": 19, "parallel": False,
     "what": "GPTNeoXForCausalLM, use_parallel_residual false, rotary_pct 0.5"},
]


def write_case(case, torch_version):
    cfg, weights, ref_cfg = case["build"](case)
    gen = torch.Generator().manual_seed(1000 + case["seed"])
    seq = torch.randint(3, VOCAB, (PROMPT_LEN,), generator=gen).tolist()
    short = torch.randint(3, VOCAB, (PROMPT_LEN - PAD_LEFT,), generator=gen).tolist()
    out = reference_outputs(case["name"], ref_cfg, weights, seq, [seq, short])
    d = os.path.join(OUT, case["name"])
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(cfg, f, indent=1)
        f.write("\n")
    write_safetensors(os.path.join(d, "model.safetensors"), {k: f32_entry(v) for k, v in weights.items()}, {"format": "pt"})
    out = {"case": case["name"], "what": case["what"], "producer": f"scripts/torch_reference.py, torch {torch_version}, float64 forward", **out}
    with open(os.path.join(d, "reference.json"), "w") as f:
        json.dump(out, f, separators=(",", ":"))
        f.write("\n")


def write_tiny_gpt2(src, torch_version):
    """This reference on the tiny-random-gpt2 checkpoint: logits of [0, 0, 0, 52] and its greedy
    continuation, each position's top 5 and first 32 logits."""
    cfg = json.load(open(os.path.join(src, "config.json")))
    raw = read_safetensors_f32(os.path.join(src, "model.safetensors"))
    w = {k if k.startswith("transformer.") else "transformer." + k: v for k, v in raw.items()}
    r = Runner(dict(cfg, model_type="gpt2"), w)
    prompt = [0, 0, 0, 52]
    seq = list(prompt)
    for i in range(6):
        logits = r.run([seq], [[1] * len(seq)], None, 0)[0, -1]
        seq.append(greedy_pick(logits, f"tiny-random-gpt2 step {i}"))
    logits = r.run([seq], [[1] * len(seq)], None, 0)[0]
    top = torch.topk(logits, 5, dim=-1)
    out = {
        "producer": f"scripts/torch_reference.py --tiny-gpt2, torch {torch_version}, float64 forward",
        "prompt": prompt,
        "greedy": seq,
        "top5_ids": top.indices.tolist(),
        "top5_logits": rounded(top.values),
        "logits_0_32": rounded(logits[:, :32]),
        "logsumexp": rounded(torch.logsumexp(logits, dim=-1)),
    }
    d = os.path.join(OUT, "gpt2_tiny_random")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "reference.json"), "w") as f:
        json.dump(out, f, separators=(",", ":"))
        f.write("\n")


# ----------------------------------------------------------------------------------------------
# F16 / BF16 bytes written by torch


def float16_values():
    specials = [0.0, -0.0, 1.0, -2.0, 65504.0, 65519.0, 65520.0, 1e6, -1e6, float("inf"), float("-inf"), float("nan"),
                2.0 ** -14, 2.0 ** -24, 2.0 ** -25, 3 * 2.0 ** -25, 2.0 ** -25 * (1 + 2.0 ** -20), 6.097555160522461e-05,
                1 + 2.0 ** -11, 1 + 3 * 2.0 ** -11, 1 + 2.0 ** -8, 1 + 3 * 2.0 ** -8, 1 / 3, math.pi, 1e-45,
                3.4028234663852886e38, -3.4028234663852886e38, 2.0 ** -126, 2.0 ** -133, 2.0 ** -149, 0.1, -0.1]
    gen = torch.Generator().manual_seed(7)
    mant = torch.rand(200, generator=gen, dtype=F64) * 2 - 1
    exps = torch.randint(-30, 20, (200,), generator=gen).to(F64)
    randoms = (mant * torch.pow(2.0, exps)).tolist()
    return torch.tensor(specials + randoms, dtype=torch.float32)


def write_float16(torch_version):
    x = float16_values()
    h = x.to(torch.float16)
    bf = x.to(torch.bfloat16)
    # numpy's float16 conversion must agree with torch's (both IEEE round to nearest even)
    with np.errstate(over="ignore"):  # values past 65504 overflow to inf, as intended
        npy = x.numpy().astype(np.float16).view("<u2")
    th = h.view(torch.int16).numpy().view("<u2")
    nan = np.isnan(x.numpy())
    if not np.array_equal(npy[~nan], th[~nan]):
        raise SystemExit("numpy and torch disagree on float16 bytes")
    d = os.path.join(OUT, "float16")
    os.makedirs(d, exist_ok=True)
    n = x.numel()
    tensors = {
        "source_f32": f32_entry(x),
        "torch_f16": ("F16", (n,), th.astype("<u2").tobytes()),
        "torch_bf16": ("BF16", (n,), bf.view(torch.int16).numpy().view("<u2").astype("<u2").tobytes()),
        "torch_f16_as_f64": ("F64", (n,), h.to(F64).numpy().astype("<f8").tobytes()),
        "torch_bf16_as_f64": ("F64", (n,), bf.to(F64).numpy().astype("<f8").tobytes()),
    }
    write_safetensors(os.path.join(d, "torch_values.safetensors"), tensors,
                      {"producer": f"scripts/torch_reference.py, torch {torch_version}, numpy {np.__version__}"})


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tiny-gpt2", help="folder of the tiny-random-gpt2 checkpoint (optional)")
    args = ap.parse_args()
    torch.manual_seed(0)
    version = torch.__version__
    for case in CASES:
        write_case(case, version)
        print(f"wrote {case['name']}")
    write_float16(version)
    print("wrote float16")
    if args.tiny_gpt2:
        write_tiny_gpt2(args.tiny_gpt2, version)
        print("wrote gpt2_tiny_random")


if __name__ == "__main__":
    sys.exit(main())
