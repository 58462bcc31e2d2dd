/**
 * loom-tfjs public API: LOOM's grid networks, file format and training on TensorFlow.js, plus a
 * Hugging Face transformer runner. The LOOM-compatible JSON-string API lives in `loom-tfjs/compat`.
 */
export * from './core/errors';
export * from './core/types';
export type { LayerRecord, BranchPlacement, GridPosition } from './core/layer_record';
export { emptyRecord, cloneRecord } from './core/layer_record';
export { useBackend, currentBackend, backendInfo, BACKEND_NAMES } from './backends';
export type { BackendName, UseBackendOptions, BackendInfo } from './backends';

// grid network
export { Network } from './network/network';
export type {
  NetworkOptions,
  ResidualMode,
  ForwardTensorOptions,
  LayerDescription,
  NetworkDescription,
} from './network/network';
export type { GridShape, GridAddress } from './network/grid';

// layers
export * from '../layers/index';

// LOOM layers inside tf.sequential / tf.model
export * from './tfjs_layers/index';

// training and evaluation
export * from './training/index';

// LOOM JSON files
export {
  loadModelFromString,
  saveModelToString,
  saveBundleToString,
  serializeModel,
  buildNetworkFromJSON,
  listModelIds,
  parseBundle,
} from '../loaders/loom_json';
export type { BundleEntry } from '../loaders/loom_json';

// Hugging Face checkpoints: files, configs, graphs
export {
  loadSafetensors,
  loadShardedSafetensors,
  readSafetensorsHeader,
  parseSafetensorsHeader,
  decodeTensor,
  saveSafetensors,
  SafetensorsFile,
  SafetensorsCheckpoint,
} from '../loaders/safetensors';
export type { SafetensorsDtype, TensorEntry, SafetensorsHeader, DecodedTensor, LoadSafetensorsOptions, SafetensorsFileOptions, TensorToSave } from '../loaders/safetensors';
export { availableBytes, assertModelFits } from '../loaders/memory_budget';
export type { MemoryAvailable, MemoryCheckOptions } from '../loaders/memory_budget';
export { readBytes, readText } from '../loaders/byte_source';
export type { ByteSource, ProgressInfo, ProgressCallback } from '../loaders/byte_source';
export { parseHFConfig, parseHFConfigText, SUPPORTED_MODEL_TYPES } from '../loaders/hf_config';
export type { ModelConfig, RopeConfig, RopeScaling, HiddenAct } from './transformer/config';
export { loadCausalLM, loadModelConfig } from '../loaders/pretrained';
export { env, hubCacheDir } from '../loaders/hub_env';
export type { HubEnv, HubOptions } from '../loaders/hub_env';
export { listCachedModels, clearCache } from '../loaders/hub';
export type { HubLoadOptions, HubCheckpointFiles, HubTokenizerFiles } from '../loaders/hub';
export type { CachedModel } from '../loaders/hub_cache';
export { loadGguf, ggufCheckpoint, GgufFile, GgufWeights } from '../loaders/gguf';
export type { GgufCheckpoint, LoadGgufOptions } from '../loaders/gguf';
export { parseGgufHeader, GGML_TYPES } from '../loaders/gguf_format';
export type { GgufHeader, GgufTensorInfo, GgufValue, GgmlTypeInfo } from '../loaders/gguf_format';
export type { QuantizedWeights, Q8Weights, Q4Weights } from '../loaders/gguf_quant';
export { saveGGUF, ggufBytes } from '../loaders/gguf_writer';
export type { GgufWriteSource, SaveGgufOptions, GgufWriteType } from '../loaders/gguf_writer';
export type { PretrainedSource, PretrainedFiles, LoadCausalLMOptions } from '../loaders/pretrained';
export { saveQuantizedCheckpoint, readQuantizationConfig } from '../loaders/quantized_checkpoint';
export type { QuantizationConfig, QuantizedTensorInfo } from '../loaders/quantized_checkpoint';
export type { WeightDtype } from './kernels/quantize';
export type { ModuleDtypes, WeightModule } from './kernels/dtype_plan';
export type { KernelOptions } from './transformer/kernel_options';
export { DecoderLM } from './transformer/model';
export type { DecoderWeights } from './transformer/weights';
export { DecoderKVCache } from './transformer/kv_cache';
export { ARCHITECTURES, MODEL_TYPES, architectureOf, buildCausalLM } from './transformer/architectures';
export type { ArchitectureSpec, ArchitectureFields, ArchitectureConfigKeys, ArchitectureDefaults, HFConfigReader } from './transformer/architecture';
export type { CausalLM, CausalLMInfo, KVCache, ForwardOptions, ModelType } from './transformer/types';

// tokenizers and generation
export { Tokenizer, loadTokenizer } from '../loaders/tokenizer';
export type { EncodeOptions, DecodeOptions, ChatTemplateOptions, TokenizerFiles, TokenizerSource, ChatMessage } from '../loaders/tokenizer';
export * from './generation/index';

// Hugging Face checkpoints as LOOM grid networks (fine-tune with train(), save as LOOM JSON) and back
export { checkpointToGridNetwork, checkpointToRecords, checkGridConfig, tokenCrossEntropy, GridCheckpoint, GRID_MODEL_TYPES } from '../loaders/grid_checkpoint';
export type { GridCheckpointSource, GridCheckpointOptions, ParsedCheckpoint } from '../loaders/grid_checkpoint';
export { gridNetworkToCheckpoint } from '../loaders/grid_checkpoint_export';
export type { GridExportOptions, GridExportModelType, HFCheckpoint } from '../loaders/grid_checkpoint_export';

// the built-in names model (no download needed)
export { builtinModelPath, builtinModelUrl, loadBuiltinModel, BUILTIN_MODEL_DIR, BUILTIN_MODEL_FILES } from './builtin_model';
export type { BuiltinModel, LoadBuiltinModelOptions } from './builtin_model';

// transformers.js conventions: pipeline('text-generation', ...), batch tokenizer calls
export { pipeline, PIPELINE_DTYPES } from './pipeline';
export type { PipelineOptions, TextGenerationPipeline, TextGenerationOutput, TextGenerationCallOptions } from './pipeline';
export { encodeBatch, batchDecode } from '../loaders/tokenizer_batch';
export type { EncodeBatchOptions, BatchEncoding, BatchEncodingRow, BatchDecodeOptions } from '../loaders/tokenizer_batch';
export type { GenerationDefaults } from './transformer/types';
export { normalizeOptionKeys, closestName, snakeCase } from './core/option_keys';
export type { OptionKeySpec, SnakeCase, WithSnakeCase } from './core/option_keys';
