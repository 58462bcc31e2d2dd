"""Plain PyTorch forward of the Hugging Face causal LMs, written from the equations of the
transformers modeling files (modeling_llama.py, modeling_mistral.py, modeling_qwen2.py,
modeling_gpt2.py, modeling_gpt_neox.py, modeling_rope_utils.py). Used by torch_reference.py.

Everything runs in float64 except the RoPE cos/sin tables, computed in float32 as transformers does.
"""
import math

import torch

F64 = torch.float64

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
