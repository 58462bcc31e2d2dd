/**
 * Per-module weight dtypes (src/kernels/dtype_plan.ts): defaults, overrides, tied embeddings sharing
 * one table, and typed errors for bad names, checked before anything is loaded.
 */
import { ConfigError } from '../src/core/errors';
import { planDtypes, planQuantizesActivations, resolveDtypePlan, type ModuleDtypes } from '../src/kernels/dtype_plan';

describe('resolveDtypePlan', () => {
  test('default fp32 everywhere; a model-wide dtype; overrides per module', () => {
    expect(resolveDtypePlan({}, false)).toEqual({ dtype: 'fp32', modules: { embed: 'fp32', lm_head: 'fp32', attention: 'fp32', mlp: 'fp32' } });
    const p = resolveDtypePlan({ dtype: 'q4', moduleDtypes: { lm_head: 'q8', embed: 'q8' } }, false);
    expect(p).toEqual({ dtype: 'q4', modules: { embed: 'q8', lm_head: 'q8', attention: 'q4', mlp: 'q4' } });
    expect(planDtypes(p).sort()).toEqual(['q4', 'q8']);
    expect(planQuantizesActivations(p)).toBe(true);
    expect(planQuantizesActivations(resolveDtypePlan({ dtype: 'bf16', moduleDtypes: { mlp: 'fp32' } }, false))).toBe(false);
  });

  test('tied embeddings: one table, lm_head (or embed) names its dtype; a conflict is a ConfigError', () => {
    expect(resolveDtypePlan({ dtype: 'q4', moduleDtypes: { lm_head: 'q8' } }, true).modules).toMatchObject({ embed: 'q8', lm_head: 'q8' });
    expect(resolveDtypePlan({ dtype: 'q4', moduleDtypes: { embed: 'bf16' } }, true).modules).toMatchObject({ embed: 'bf16', lm_head: 'bf16' });
    expect(() => resolveDtypePlan({ dtype: 'q4', moduleDtypes: { embed: 'q8', lm_head: 'bf16' } }, true)).toThrow(/ties its LM head.*embed 'q8' and lm_head 'bf16'/);
    expect(resolveDtypePlan({ moduleDtypes: { embed: 'q8', lm_head: 'bf16' } }, false).modules).toMatchObject({ embed: 'q8', lm_head: 'bf16' });
  });

  test('unknown dtypes and modules are ConfigErrors naming the value and the choices', () => {
    expect(() => resolveDtypePlan({ dtype: 'int8' as never }, false)).toThrow(ConfigError);
    expect(() => resolveDtypePlan({ dtype: 'int8' as never }, false)).toThrow(/dtype: "int8" is not a weight dtype, expected one of fp32, bf16, q8, q4/);
    expect(() => resolveDtypePlan({ moduleDtypes: { lm_head: 'q2' } as unknown as ModuleDtypes }, false)).toThrow(/moduleDtypes.lm_head: "q2"/);
    expect(() => resolveDtypePlan({ moduleDtypes: { head: 'q8' } as unknown as ModuleDtypes }, false)).toThrow(/unknown module 'head', expected one of embed, lm_head, attention, mlp/);
  });
});
