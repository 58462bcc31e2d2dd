/**
 * Independent float64 references of GPT-2 and GPT-NeoX forward passes, written from the Hugging
 * Face modeling code with plain loops over the checkpoint's own tensor layouts (no shared code
 * with src/transformer). Returns logits of every position, (T, V) row-major.
 */
export type Tensors = (name: string) => Float64Array;

function layerNorm(x: Float64Array, g: Float64Array, b: Float64Array, eps: number): Float64Array {
  const n = x.length;
  let mean = 0;
  for (let i = 0; i < n; i++) mean += x[i]!;
  mean /= n;
  let v = 0;
  for (let i = 0; i < n; i++) v += (x[i]! - mean) ** 2;
  v /= n;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = ((x[i]! - mean) / Math.sqrt(v + eps)) * g[i]! + b[i]!;
  return out;
}

/** Applied to the input of every linear layer while set (see {@link withLinearInputs}). */
let linearInput: ((x: Float64Array, w: Float64Array) => Float64Array) | null = null;

/**
 * Runs `fn` with every linear layer's input (including the LM head's) passed through `hook` first,
 * with that layer's weight `w`: e.g. an activation quantize-dequantize to reference quantized kernels.
 */
export function withLinearInputs<T>(hook: (x: Float64Array, w: Float64Array) => Float64Array, fn: () => T): T {
  const before = linearInput;
  linearInput = hook;
  try {
    return fn();
  } finally {
    linearInput = before;
  }
}

/** y = x @ W + b with W stored (in, out) (GPT-2 Conv1D). */
function conv1d(x0: Float64Array, w: Float64Array, b: Float64Array | null, nOut: number): Float64Array {
  const x = linearInput ? linearInput(x0, w) : x0;
  const nIn = x.length;
  const y = new Float64Array(nOut);
  for (let o = 0; o < nOut; o++) y[o] = b ? b[o]! : 0;
  for (let i = 0; i < nIn; i++) {
    const xi = x[i]!;
    for (let o = 0; o < nOut; o++) y[o] = y[o]! + xi * w[i * nOut + o]!;
  }
  return y;
}

/** y = x @ W^T + b with W stored (out, in) (torch Linear). */
function linear(x0: Float64Array, w: Float64Array, b: Float64Array | null, nOut: number): Float64Array {
  const x = linearInput ? linearInput(x0, w) : x0;
  const nIn = x.length;
  const y = new Float64Array(nOut);
  for (let o = 0; o < nOut; o++) {
    let s = b ? b[o]! : 0;
    for (let i = 0; i < nIn; i++) s += x[i]! * w[o * nIn + i]!;
    y[o] = s;
  }
  return y;
}

const geluTanh = (x: number): number => 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3)));

function erf(x: number): number {
  // Abramowitz-Stegun 7.1.26 is too coarse; use a series / continued fraction to ~1e-15.
  const t = Math.abs(x);
  if (t < 3) {
    let sum = t;
    let term = t;
    for (let n = 1; n < 200; n++) {
      term *= (-t * t) / n;
      const add = term / (2 * n + 1);
      sum += add;
      if (Math.abs(add) < 1e-17) break;
    }
    return Math.sign(x) * (2 / Math.sqrt(Math.PI)) * sum;
  }
  // erfc continued fraction for large |x|.
  let f = 0;
  for (let n = 60; n >= 1; n--) f = n / 2 / (t + f);
  const erfc = Math.exp(-t * t) / Math.sqrt(Math.PI) / (t + f);
  return Math.sign(x) * (1 - erfc);
}
const geluExact = (x: number): number => 0.5 * x * (1 + erf(x / Math.SQRT2));

/** Causal softmax attention of one head: q (T, hd), k (T, hd), v (T, hd) -> (T, hd). */
function attendHead(q: Float64Array[], k: Float64Array[], v: Float64Array[], hd: number, window = Infinity): Float64Array[] {
  const out: Float64Array[] = [];
  for (let t = 0; t < q.length; t++) {
    const scores: number[] = [];
    const first = Math.max(0, t - window + 1); // sliding window: keys t - window < s <= t
    for (let s = 0; s < first; s++) scores.push(-Infinity);
    for (let s = first; s <= t; s++) {
      let dot = 0;
      for (let j = 0; j < hd; j++) dot += q[t]![j]! * k[s]![j]!;
      scores.push(dot / Math.sqrt(hd));
    }
    const m = Math.max(...scores);
    const e = scores.map((x) => Math.exp(x - m));
    const z = e.reduce((a, b) => a + b, 0);
    const o = new Float64Array(hd);
    for (let s = 0; s <= t; s++) for (let j = 0; j < hd; j++) o[j] = o[j]! + (e[s]! / z) * v[s]![j]!;
    out.push(o);
  }
  return out;
}

/** HF GPT2LMHeadModel with gelu_new, tied head. */
export function gpt2Reference(get: Tensors, cfg: { d: number; heads: number; layers: number; vocab: number; eps: number; inner?: number }, ids: number[], p = 'transformer.'): Float64Array {
  const { d, heads, layers, vocab, eps } = cfg;
  const inner = cfg.inner ?? 4 * d; // n_inner (HF default 4 * n_embd)
  const hd = d / heads;
  const wte = get(`${p}wte.weight`);
  const wpe = get(`${p}wpe.weight`);
  let xs = ids.map((id, t) => {
    const x = new Float64Array(d);
    for (let j = 0; j < d; j++) x[j] = wte[id * d + j]! + wpe[t * d + j]!;
    return x;
  });
  for (let l = 0; l < layers; l++) {
    const n = `${p}h.${l}.`;
    const qkv = xs.map((x) => conv1d(layerNorm(x, get(`${n}ln_1.weight`), get(`${n}ln_1.bias`), eps), get(`${n}attn.c_attn.weight`), get(`${n}attn.c_attn.bias`), 3 * d));
    const merged = xs.map(() => new Float64Array(d));
    for (let h = 0; h < heads; h++) {
      const q = qkv.map((r) => r.slice(h * hd, (h + 1) * hd));
      const k = qkv.map((r) => r.slice(d + h * hd, d + (h + 1) * hd));
      const v = qkv.map((r) => r.slice(2 * d + h * hd, 2 * d + (h + 1) * hd));
      attendHead(q, k, v, hd).forEach((o, t) => merged[t]!.set(o, h * hd));
    }
    xs = xs.map((x, t) => {
      const a = conv1d(merged[t]!, get(`${n}attn.c_proj.weight`), get(`${n}attn.c_proj.bias`), d);
      const h1 = x.map((xi, j) => xi + a[j]!);
      const u = conv1d(layerNorm(h1, get(`${n}ln_2.weight`), get(`${n}ln_2.bias`), eps), get(`${n}mlp.c_fc.weight`), get(`${n}mlp.c_fc.bias`), inner).map(geluTanh);
      const m = conv1d(u, get(`${n}mlp.c_proj.weight`), get(`${n}mlp.c_proj.bias`), d);
      return h1.map((hi, j) => hi + m[j]!);
    });
  }
  const out = new Float64Array(ids.length * vocab);
  xs.forEach((x, t) => {
    const y = layerNorm(x, get(`${p}ln_f.weight`), get(`${p}ln_f.bias`), eps);
    out.set(linear(y, wte, null, vocab), t * vocab);
  });
  return out;
}

/** HF GPTNeoXForCausalLM (exact gelu, partial rotary, parallel or sequential residual, untied head). */
export function gptNeoxReference(
  get: Tensors,
  cfg: { d: number; heads: number; layers: number; vocab: number; inner: number; eps: number; rotaryPct: number; base: number; parallel: boolean },
  ids: number[],
): Float64Array {
  const { d, heads, layers, vocab, inner, eps, rotaryPct, base, parallel } = cfg;
  const hd = d / heads;
  const rot = Math.floor(hd * rotaryPct);
  const emb = get('gpt_neox.embed_in.weight');
  const rope = (x: Float64Array, pos: number): Float64Array => {
    const out = x.slice();
    const half = rot / 2;
    for (let i = 0; i < half; i++) {
      const ang = pos / base ** ((2 * i) / rot);
      const c = Math.cos(ang);
      const s = Math.sin(ang);
      out[i] = x[i]! * c - x[i + half]! * s;
      out[i + half] = x[i + half]! * c + x[i]! * s;
    }
    return out;
  };
  let xs = ids.map((id) => emb.slice(id * d, (id + 1) * d));
  for (let l = 0; l < layers; l++) {
    const n = `gpt_neox.layers.${l}.`;
    const ln1 = xs.map((x) => layerNorm(x, get(`${n}input_layernorm.weight`), get(`${n}input_layernorm.bias`), eps));
    const qkv = ln1.map((x) => linear(x, get(`${n}attention.query_key_value.weight`), get(`${n}attention.query_key_value.bias`), 3 * d));
    const merged = xs.map(() => new Float64Array(d));
    for (let h = 0; h < heads; h++) {
      // view(T, heads, 3 * hd).chunk(3): per head [q | k | v].
      const q = qkv.map((r, t) => rope(r.slice(h * 3 * hd, h * 3 * hd + hd), t));
      const k = qkv.map((r, t) => rope(r.slice(h * 3 * hd + hd, h * 3 * hd + 2 * hd), t));
      const v = qkv.map((r) => r.slice(h * 3 * hd + 2 * hd, h * 3 * hd + 3 * hd));
      attendHead(q, k, v, hd).forEach((o, t) => merged[t]!.set(o, h * hd));
    }
    const mlp = (x: Float64Array): Float64Array => {
      const y = layerNorm(x, get(`${n}post_attention_layernorm.weight`), get(`${n}post_attention_layernorm.bias`), eps);
      const u = linear(y, get(`${n}mlp.dense_h_to_4h.weight`), get(`${n}mlp.dense_h_to_4h.bias`), inner).map(geluExact);
      return linear(u, get(`${n}mlp.dense_4h_to_h.weight`), get(`${n}mlp.dense_4h_to_h.bias`), d);
    };
    xs = xs.map((x, t) => {
      const a = linear(merged[t]!, get(`${n}attention.dense.weight`), get(`${n}attention.dense.bias`), d);
      if (parallel) {
        const m = mlp(x);
        return x.map((xi, j) => xi + a[j]! + m[j]!);
      }
      const h1 = x.map((xi, j) => xi + a[j]!);
      const m = mlp(h1);
      return h1.map((hi, j) => hi + m[j]!);
    });
  }
  const out = new Float64Array(ids.length * vocab);
  xs.forEach((x, t) => {
    const y = layerNorm(x, get('gpt_neox.final_layer_norm.weight'), get('gpt_neox.final_layer_norm.bias'), eps);
    out.set(linear(y, get('embed_out.weight'), null, vocab), t * vocab);
  });
  return out;
}

/** Settings of {@link llamaReference}. */
export interface LlamaRefConfig {
  d: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  layers: number;
  vocab: number;
  inner: number;
  eps: number;
  /** Inverse frequencies (after any rope scaling), headDim / 2 values. */
  invFreq: number[];
  qkvBias: boolean;
  oBias: boolean;
  tied: boolean;
  /** Mistral's sliding window (keys q - window < k <= q). */
  slidingWindow?: number;
}

/** HF LlamaForCausalLM / Qwen2ForCausalLM (RMSNorm, rotate_half RoPE, repeat_kv GQA, SwiGLU). */
export function llamaReference(get: Tensors, cfg: LlamaRefConfig, ids: number[]): Float64Array {
  const { d, heads, kvHeads, headDim: hd, layers, vocab, inner, eps, invFreq } = cfg;
  const rms = (x: Float64Array, g: Float64Array): Float64Array => {
    let ms = 0;
    for (const v of x) ms += v * v;
    ms /= x.length;
    return x.map((v, i) => (v / Math.sqrt(ms + eps)) * g[i]!);
  };
  const rope = (x: Float64Array, pos: number): Float64Array => {
    const out = x.slice();
    const half = hd / 2;
    for (let i = 0; i < half; i++) {
      const c = Math.cos(pos * invFreq[i]!);
      const s = Math.sin(pos * invFreq[i]!);
      out[i] = x[i]! * c - x[i + half]! * s;
      out[i + half] = x[i + half]! * c + x[i]! * s;
    }
    return out;
  };
  const emb = get('model.embed_tokens.weight');
  let xs = ids.map((id) => emb.slice(id * d, (id + 1) * d));
  for (let l = 0; l < layers; l++) {
    const n = `model.layers.${l}.`;
    const h = xs.map((x) => rms(x, get(`${n}input_layernorm.weight`)));
    const bias = (p: string): Float64Array | null => (cfg.qkvBias ? get(`${n}self_attn.${p}.bias`) : null);
    const q = h.map((x) => linear(x, get(`${n}self_attn.q_proj.weight`), bias('q_proj'), heads * hd));
    const k = h.map((x) => linear(x, get(`${n}self_attn.k_proj.weight`), bias('k_proj'), kvHeads * hd));
    const v = h.map((x) => linear(x, get(`${n}self_attn.v_proj.weight`), bias('v_proj'), kvHeads * hd));
    const merged = xs.map(() => new Float64Array(heads * hd));
    for (let hh = 0; hh < heads; hh++) {
      const kv = Math.floor(hh / (heads / kvHeads));
      const qh = q.map((r, t) => rope(r.slice(hh * hd, (hh + 1) * hd), t));
      const kh = k.map((r, t) => rope(r.slice(kv * hd, (kv + 1) * hd), t));
      const vh = v.map((r) => r.slice(kv * hd, (kv + 1) * hd));
      attendHead(qh, kh, vh, hd, cfg.slidingWindow).forEach((o, t) => merged[t]!.set(o, hh * hd));
    }
    xs = xs.map((x, t) => {
      const a = linear(merged[t]!, get(`${n}self_attn.o_proj.weight`), cfg.oBias ? get(`${n}self_attn.o_proj.bias`) : null, d);
      const h1 = x.map((xi, j) => xi + a[j]!);
      const y = rms(h1, get(`${n}post_attention_layernorm.weight`));
      const g = linear(y, get(`${n}mlp.gate_proj.weight`), null, inner);
      const u = linear(y, get(`${n}mlp.up_proj.weight`), null, inner);
      const m = linear(g.map((gi, j) => (gi / (1 + Math.exp(-gi))) * u[j]!), get(`${n}mlp.down_proj.weight`), null, d);
      return h1.map((hi, j) => hi + m[j]!);
    });
  }
  const head = cfg.tied ? emb : get('lm_head.weight');
  const out = new Float64Array(ids.length * vocab);
  xs.forEach((x, t) => out.set(linear(rms(x, get('model.norm.weight')), head, null, vocab), t * vocab));
  return out;
}
