/** Text generation: logits processors -> sampler -> streamer, over a {@link CausalLM} with a KV cache. */
export * from './types';
export * from '../core/rng'; // seeded RNG (lives in core: layers and training share it)
export * from './logits_processors';
export * from './sampler';
export * from './streamer';
export * from './decode_step';
export * from './generate';
export * from './ban_processors';
export * from './options';
export * from './beam_search';
export * from './past_key_values';
