/**
 * LOOM layers inside tfjs models (`tf.sequential` / `tf.model`): one registered `tf.layers.Layer`
 * class per layer kind, trainable with `model.fit`, saved and loaded with `model.save` /
 * `tf.loadLayersModel`.
 */
export {
  LoomTfjsLayer,
  LOOM_TFJS_LAYER_CLASSES,
  loomTfjsLayerClass,
  loomTfjsLayer,
  LoomDense,
  LoomConv2D,
  LoomMultiHeadAttention,
  LoomRNN,
  LoomLSTM,
  LoomSoftmax,
  LoomLayerNorm,
  LoomResidual,
  LoomRMSNorm,
  LoomSwiGLU,
  LoomParallel,
} from './loom_tfjs_layer';
export type { LoomLayerArgs, LoomTfjsLayerClass, TfjsLayerArgs } from './loom_tfjs_layer';
export { GridParamVariable } from './grid_param_variable';
export { recordToDefinition, definitionToRecord, encodeDefinition, decodeDefinition } from './definition';
export type { LoomLayerDefinition, DefinitionValue } from './definition';
