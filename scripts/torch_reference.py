#!/usr/bin/python3
"""Independent PyTorch reference for loom-tfjs' transformer runner and float decoding.

A plain PyTorch forward written from the equations of the Hugging Face modeling files
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

F64 = torch.float64
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


# ----------------------------------------------------------------------------------------------
# RoPE (modeling_rope_utils.py): inverse frequencies in float32, angles = inv_freq @ positions in
# float32, emb = cat(freqs, freqs), cos/sin in float32.


def inv_freq_default(base, dim):
    return 1.0 / (base ** (torch.arange(0, dim, 2, dtype=torch.int64).float() / dim))


def inv_freq_for(cfg, seq_len):
    """_compute_*_parameters of modeling_rope_utils.py for the scaling in cfg."""
    dim = cfg["rotary_dim"]
    base = cfg["theta"]
    scaling = cfg.get("rope_scaling") or {}
    kind = scaling.get("rope_type", scaling.get("type", "default"))
    if kind == "default":
        return inv_freq_default(base, dim)
    if kind == "linear":
        return inv_freq_default(base, dim) / scaling["factor"]
    if kind == "dynamic":
        # transformers uses config.max_position_embeddings as the trained length here (not
        # rope_scaling.original_max_position_embeddings) and seq_len = max(position_ids) + 1.
        max_pos = cfg["max_position_embeddings"]
        factor = scaling["factor"]
        seq_len = seq_len if seq_len > max_pos else max_pos
        base = base * ((factor * seq_len / max_pos) - (factor - 1)) ** (dim / (dim - 2))
        return inv_freq_default(base, dim)
    if kind == "llama3":
        inv_freq = inv_freq_default(base, dim)
        factor = scaling["factor"]
        low = scaling["low_freq_factor"]
        high = scaling["high_freq_factor"]
        old_len = scaling["original_max_position_embeddings"]
        low_wavelen = old_len / low
        high_wavelen = old_len / high
        wavelen = 2 * math.pi / inv_freq
        scaled = torch.where(wavelen > low_wavelen, inv_freq / factor, inv_freq)
        smooth = (old_len / wavelen - low) / (high - low)
        smoothed = (1 - smooth) * scaled / factor + smooth * scaled
        medium = ~(wavelen < high_wavelen) * ~(wavelen > low_wavelen)
        return torch.where(medium, smoothed, scaled)
    raise SystemExit(f"rope type {kind} not covered")


def rope_cos_sin(cfg, position_ids):
    """position_ids (B, T) int64 -> cos, sin (B, T, rotary_dim) float64 (computed in float32)."""
    seq_len = int(position_ids.max()) + 1
    inv_freq = inv_freq_for(cfg, seq_len)
    freqs = (inv_freq[None, :, None].float() @ position_ids[:, None, :].float()).transpose(1, 2)
    emb = torch.cat((freqs, freqs), dim=-1)
    return emb.cos().to(F64), emb.sin().to(F64)


def rotate_half(x):
    x1 = x[..., : x.shape[-1] // 2]
    x2 = x[..., x.shape[-1] // 2 :]
    return torch.cat((-x2, x1), dim=-1)


def apply_rope(x, cos, sin):
    """x (B, H, T, d), cos/sin (B, T, d) -> x * cos + rotate_half(x) * sin."""
    return x * cos[:, None] + rotate_half(x) * sin[:, None]


# ----------------------------------------------------------------------------------------------
# Shared pieces


def rms_norm(x, w, eps):
    return w * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps))


def layer_norm(x, w, b, eps):
    return torch.nn.functional.layer_norm(x, (x.shape[-1],), w, b, eps)


def gelu_new(x):
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))


def gelu_exact(x):
    return 0.5 * x * (1.0 + torch.erf(x / math.sqrt(2.0)))


def silu(x):
    return x * torch.sigmoid(x)


def attention(q, k, v, visible, cache, layer):
    """q (B, H, T, d), k/v (B, Hkv, T, d) new positions; visible (B, T, S) bool over cache + new.

    Appends k/v to the cache; repeat_kv for grouped heads; softmax(q k^T / sqrt(d) + mask) v.
    Returns (B, T, H * d)."""
    if cache is not None:
        if layer < len(cache):
            pk, pv = cache[layer]
            k = torch.cat([pk, k], dim=2)
            v = torch.cat([pv, v], dim=2)
            cache[layer] = (k, v)
        else:
            cache.append((k, v))
    b, h, t, d = q.shape
    group = h // k.shape[1]
    k = k.repeat_interleave(group, dim=1)  # repeat_kv: head i reads kv head i // group
    v = v.repeat_interleave(group, dim=1)
    scores = q @ k.transpose(2, 3) / math.sqrt(d)
    scores = scores.masked_fill(~visible[:, None], torch.finfo(F64).min)
    probs = torch.softmax(scores, dim=-1)
    out = probs @ v  # (B, H, T, d)
    return out.transpose(1, 2).reshape(b, t, h * d)


def heads(x, n, d):
    """(B, T, n * d) -> (B, n, T, d)"""
    b, t, _ = x.shape
    return x.view(b, t, n, d).transpose(1, 2)


def linear(x, w, b=None):
    """nn.Linear: x @ W^T + b, W (out, in)."""
    y = x @ w.t()
    return y + b if b is not None else y


# ----------------------------------------------------------------------------------------------
# Architectures. Each forward takes ids (B, T), position_ids (B, T), visible (B, T, S) and a cache
# (list of per-layer (k, v) or None) and returns logits (B, T, V) float64.


def llama_forward(cfg, w, ids, position_ids, visible, cache):
    """LlamaForCausalLM / MistralForCausalLM / Qwen2ForCausalLM (sliding window is in `visible`)."""
    eps = cfg["rms_norm_eps"]
    nh, nkv, hd = cfg["num_attention_heads"], cfg["num_key_value_heads"], cfg["head_dim"]
    x = w["model.embed_tokens.weight"][ids]
    cos, sin = rope_cos_sin(cfg, position_ids)
    for i in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{i}."
        g = lambda n: w.get(p + n)
        h = rms_norm(x, g("input_layernorm.weight"), eps)
        q = heads(linear(h, g("self_attn.q_proj.weight"), g("self_attn.q_proj.bias")), nh, hd)
        k = heads(linear(h, g("self_attn.k_proj.weight"), g("self_attn.k_proj.bias")), nkv, hd)
        v = heads(linear(h, g("self_attn.v_proj.weight"), g("self_attn.v_proj.bias")), nkv, hd)
        q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)
        a = attention(q, k, v, visible, cache, i)
        x = x + linear(a, g("self_attn.o_proj.weight"), g("self_attn.o_proj.bias"))
        h = rms_norm(x, g("post_attention_layernorm.weight"), eps)
        gate = silu(linear(h, g("mlp.gate_proj.weight"), g("mlp.gate_proj.bias")))
        up = linear(h, g("mlp.up_proj.weight"), g("mlp.up_proj.bias"))
        x = x + linear(gate * up, g("mlp.down_proj.weight"), g("mlp.down_proj.bias"))
    x = rms_norm(x, w["model.norm.weight"], eps)
    head = w["model.embed_tokens.weight"] if cfg["tie_word_embeddings"] else w["lm_head.weight"]
    return x @ head.t()


def gpt2_forward(cfg, w, ids, position_ids, visible, cache):
    """GPT2LMHeadModel: learned positions, pre-LN blocks, Conv1D (x @ W + b, W (in, out)),
    gelu_new MLP, head tied to wte."""
    eps = cfg["layer_norm_epsilon"]
    nh = cfg["n_head"]
    hd = cfg["n_embd"] // nh
    p = "transformer."
    x = w[p + "wte.weight"][ids] + w[p + "wpe.weight"][position_ids]
    for i in range(cfg["n_layer"]):
        g = lambda n: w[f"{p}h.{i}.{n}"]
        h = layer_norm(x, g("ln_1.weight"), g("ln_1.bias"), eps)
        qkv = h @ g("attn.c_attn.weight") + g("attn.c_attn.bias")
        q, k, v = qkv.split(cfg["n_embd"], dim=2)
        a = attention(heads(q, nh, hd), heads(k, nh, hd), heads(v, nh, hd), visible, cache, i)
        x = x + (a @ g("attn.c_proj.weight") + g("attn.c_proj.bias"))
        h = layer_norm(x, g("ln_2.weight"), g("ln_2.bias"), eps)
        m = gelu_new(h @ g("mlp.c_fc.weight") + g("mlp.c_fc.bias"))
        x = x + (m @ g("mlp.c_proj.weight") + g("mlp.c_proj.bias"))
    x = layer_norm(x, w[p + "ln_f.weight"], w[p + "ln_f.bias"], eps)
    return x @ w[p + "wte.weight"].t()


def gpt_neox_forward(cfg, w, ids, position_ids, visible, cache):
    """GPTNeoXForCausalLM: query_key_value rows are (head, [q|k|v], head_dim); rotary on the first
    rotary_ndims = head_size * rotary_pct dims; parallel residual x + attn(ln1 x) + mlp(ln2 x)."""
    eps = cfg["layer_norm_eps"]
    nh = cfg["num_attention_heads"]
    hd = cfg["hidden_size"] // nh
    rot = cfg["rotary_dim"]
    x = w["gpt_neox.embed_in.weight"][ids]
    cos, sin = rope_cos_sin(cfg, position_ids)
    b, t, _ = x.shape
    for i in range(cfg["num_hidden_layers"]):
        g = lambda n: w[f"gpt_neox.layers.{i}.{n}"]
        h = layer_norm(x, g("input_layernorm.weight"), g("input_layernorm.bias"), eps)
        qkv = linear(h, g("attention.query_key_value.weight"), g("attention.query_key_value.bias"))
        qkv = qkv.view(b, t, nh, 3 * hd).permute(0, 2, 1, 3)  # (B, H, T, 3 hd)
        q, k, v = qkv[..., :hd], qkv[..., hd : 2 * hd], qkv[..., 2 * hd :]
        q = torch.cat((apply_rope(q[..., :rot], cos, sin), q[..., rot:]), dim=-1)
        k = torch.cat((apply_rope(k[..., :rot], cos, sin), k[..., rot:]), dim=-1)
        a = linear(attention(q, k, v, visible, cache, i), g("attention.dense.weight"), g("attention.dense.bias"))

        def mlp(z):
            u = gelu_exact(linear(z, g("mlp.dense_h_to_4h.weight"), g("mlp.dense_h_to_4h.bias")))
            return linear(u, g("mlp.dense_4h_to_h.weight"), g("mlp.dense_4h_to_h.bias"))

        if cfg["use_parallel_residual"]:
            x = x + a + mlp(layer_norm(x, g("post_attention_layernorm.weight"), g("post_attention_layernorm.bias"), eps))
        else:
            x = x + a
            x = x + mlp(layer_norm(x, g("post_attention_layernorm.weight"), g("post_attention_layernorm.bias"), eps))
    x = layer_norm(x, w["gpt_neox.final_layer_norm.weight"], w["gpt_neox.final_layer_norm.bias"], eps)
    return x @ w["embed_out.weight"].t()


FORWARD = {"llama": llama_forward, "mistral": llama_forward, "qwen2": llama_forward, "gpt2": gpt2_forward, "gpt_neox": gpt_neox_forward}


# ----------------------------------------------------------------------------------------------
# Running a model: masks, positions, cache


class Runner:
    def __init__(self, cfg, weights):
        self.cfg = cfg
        self.w = {k: v.to(F64) for k, v in weights.items()}
        self.fwd = FORWARD[cfg["model_type"]]

    def run(self, ids, mask, cache, past):
        """ids (B, T) new tokens; mask (B, past + T) 1 real / 0 pad; cache list or None."""
        ids = torch.tensor(ids, dtype=torch.int64)
        mask = torch.tensor(mask, dtype=torch.int64)
        b, t = ids.shape
        s = past + t
        # generate(): position_ids = cumsum(mask) - 1, pads -> 1; the new tokens' slice
        position_ids = (mask.cumsum(-1) - 1).masked_fill(mask == 0, 1)[:, past:]
        q_pos = torch.arange(past, s)[:, None]
        k_pos = torch.arange(s)[None, :]
        visible = k_pos <= q_pos  # causal
        window = self.cfg.get("sliding_window") if self.cfg["model_type"] == "mistral" else None
        if window is not None:
            visible = visible & (k_pos > q_pos - window)  # masking_utils.sliding_window_overlay
        visible = visible[None] & (mask[:, None, :] != 0)
        return self.fwd(self.cfg, self.w, ids, position_ids, visible, cache)


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
