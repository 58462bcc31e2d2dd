/** Seeded random numbers for sampling; they live in core so layers and training share them. */
export * from '../core/rng';
