/**
 * loom-tfjs public API.
 */
export * from './core/errors';
export * from './core/types';
export { useBackend, currentBackend, BACKEND_NAMES } from './backends';
export type { BackendName, UseBackendOptions } from './backends';
