/**
 * Learning-rate schedules for `train()` (LOOM has none: its rate is constant, training.md 3).
 * A schedule maps (step, epoch) to a learning rate; `step` counts optimizer steps (batches) from 0.
 */
import { ConfigError } from '../core/errors';

/** Constant rate (LOOM's behaviour). */
export interface ConstantSchedule {
  readonly type: 'constant';
  /** Linear warm-up from `lr / warmupSteps` to `lr` over the first steps. Default 0. */
  readonly warmupSteps?: number;
}

/** Multiply the rate by `gamma` every `everyEpochs` epochs: `lr * gamma^floor(epoch / everyEpochs)`. */
export interface StepSchedule {
  readonly type: 'step';
  readonly everyEpochs: number;
  /** Default 0.1. */
  readonly gamma?: number;
  readonly warmupSteps?: number;
}

/** Cosine decay from `lr` to `minLearningRate` over `totalSteps` (default: all steps of the run). */
export interface CosineSchedule {
  readonly type: 'cosine';
  readonly totalSteps?: number;
  /** Default 0. */
  readonly minLearningRate?: number;
  readonly warmupSteps?: number;
}

/** Learning-rate schedule, discriminated by `type`. */
export type ScheduleConfig = ConstantSchedule | StepSchedule | CosineSchedule;

/** Where training is when a rate is asked for. */
export interface ScheduleState {
  /** Optimizer steps done so far (0 for the first batch). */
  readonly step: number;
  /** 0-based epoch. */
  readonly epoch: number;
  /** Steps in the whole run (epochs x batches). */
  readonly totalSteps: number;
}

/** Throws ConfigError on invalid schedule values. */
export function validateSchedule(s: ScheduleConfig): void {
  const bad = (what: string, v: unknown): never => {
    throw new ConfigError(`schedule '${s.type}': ${what} must be a non-negative number, got ${String(v)}`);
  };
  if (s.warmupSteps !== undefined && !(s.warmupSteps >= 0)) bad('warmupSteps', s.warmupSteps);
  if (s.type === 'step' && !(s.everyEpochs > 0)) bad('everyEpochs (> 0)', s.everyEpochs);
  if (s.type === 'cosine' && s.totalSteps !== undefined && !(s.totalSteps > 0)) bad('totalSteps (> 0)', s.totalSteps);
  if (!['constant', 'step', 'cosine'].includes(s.type)) {
    throw new ConfigError(`unknown schedule type '${String(s.type)}', expected constant, step or cosine`);
  }
}

/** The learning rate at a point of the run for base rate `lr`. */
export function learningRateAt(schedule: ScheduleConfig | undefined, lr: number, st: ScheduleState): number {
  if (!schedule) return lr;
  const warm = schedule.warmupSteps ?? 0;
  if (warm > 0 && st.step < warm) return (lr * (st.step + 1)) / warm;
  switch (schedule.type) {
    case 'constant':
      return lr;
    case 'step':
      return lr * Math.pow(schedule.gamma ?? 0.1, Math.floor(st.epoch / schedule.everyEpochs));
    case 'cosine': {
      const total = Math.max(1, (schedule.totalSteps ?? st.totalSteps) - warm);
      const p = Math.min(1, Math.max(0, st.step - warm) / total);
      const lo = schedule.minLearningRate ?? 0;
      return lo + ((lr - lo) * (1 + Math.cos(Math.PI * p))) / 2;
    }
  }
}
