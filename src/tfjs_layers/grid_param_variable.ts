/**
 * A tfjs `LayerVariable` whose value IS a grid layer's parameter variable, so that tfjs
 * training (`model.fit` differentiates with respect to `read()`), saving (`getWeights`) and
 * loading (`setWeights` / `loadWeights` call `write()`) act on the very `tf.Variable` that
 * the LOOM layer's `apply` uses. No copy, no sync step: one variable, two views.
 */
import * as tf from '@tensorflow/tfjs';
import { LoomError, ShapeError } from '../core/errors';

/** tfjs layer weight backed by a grid layer parameter (which it owns from now on). */
export class GridParamVariable extends tf.LayerVariable {
  private readonly param: tf.Variable; // (shape as the grid layer uses it)
  private trainableFlag: boolean;

  /**
   * @param param the grid layer's variable; disposed with this weight.
   * @param name weight name (the LOOM weight name, e.g. `gamma`, `branch0.kernel`).
   */
  constructor(param: tf.Variable, name: string, trainable = true) {
    super(param, 'float32', name, trainable);
    // The base class made its own variable sharing `param`'s data; drop it and use `param`.
    this.val.dispose();
    this.param = param;
    this.trainableFlag = trainable;
    param.trainable = trainable;
  }

  /** The grid layer's variable itself (gradients with respect to it reach the grid layer). */
  override read(): tf.Variable {
    this.assertNotDisposed();
    return this.param;
  }

  /**
   * Assigns a new value to the grid layer's variable.
   * @throws ShapeError when `newVal` has another shape.
   */
  override write(newVal: tf.Tensor): this {
    this.assertNotDisposed();
    if (!tf.util.arraysEqual(newVal.shape, this.param.shape)) {
      throw new ShapeError(`${this.name}: new value has shape [${newVal.shape.join(', ')}], expected [${this.param.shape.join(', ')}]`);
    }
    if (newVal.id === this.param.id) return this;
    const v = newVal.dtype === 'float32' ? newVal : tf.cast(newVal, 'float32');
    this.param.assign(v);
    if (v !== newVal) v.dispose();
    return this;
  }

  /** Frees the grid layer's variable (once). */
  override dispose(): void {
    if (!this.param.isDisposed) this.param.dispose();
  }

  protected override assertNotDisposed(): void {
    if (this.param.isDisposed) throw new LoomError(`LayersVariable ${this.name} is already disposed.`);
  }

  override get trainable(): boolean {
    return this.trainableFlag;
  }

  override set trainable(trainable: boolean) {
    this.trainableFlag = trainable;
    this.param.trainable = trainable;
  }
}
