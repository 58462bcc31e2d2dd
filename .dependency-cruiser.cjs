/**
 * Dependency direction of loom-tfjs (docs/architecture.md, STYLE.md): a module may import only
 * from its own level or the levels below it, and no import cycle is allowed.
 *
 *   0 src/core
 *   1 src/ops                 2 src/kernels
 *   3 layers/
 *   4 src/network, src/training, src/tfjs_layers
 *   5 src/transformer
 *   6 src/generation
 *   7 loaders/
 *   8 src/cli, src/compat, src/index.ts, src/builtin_model.ts, src/backends.ts, examples/, bench/
 *
 * Run by `npm run lint:deps` (part of `npm test`). __tests__/lint_rules.test.ts
 * (`npm run lint:deps:check`) plants a cycle and an upward import in a scratch tree and shows the
 * check fails on both. Chosen over ESLint + import/no-cycle: one tool covers both rules, it reads
 * the TypeScript imports (type-only ones too, via tsPreCompilationDeps) without a parser setup,
 * and the project has no ESLint.
 */
const LEVELS = [
  ['^src/core/'],
  ['^src/ops/'],
  ['^src/kernels/'],
  ['^layers/'],
  ['^src/network/', '^src/training/', '^src/tfjs_layers/'],
  ['^src/transformer/'],
  ['^src/generation/'],
  ['^loaders/'],
  ['^src/cli/', '^src/compat/', '^src/index\\.ts$', '^src/builtin_model\\.ts$', '^src/backends\\.ts$', '^examples/', '^bench/'],
];

/** One rule per level: nothing at that level imports a level above it. */
const upward = LEVELS.slice(0, -1).map((paths, i) => ({
  name: `level-${i}-imports-upward`,
  comment: `${paths.join(', ')} may import only from levels 0..${i} (see .dependency-cruiser.cjs)`,
  severity: 'error',
  from: { path: paths },
  to: { path: LEVELS.slice(i + 1).flat() },
}));

// bench/ may use the CLI's command interface; the CLI must not import bench/.
const cliBench = {
  name: 'cli-imports-bench',
  comment: 'the CLI does not import bench/ (benchmarks are run by npm run bench)',
  severity: 'error',
  from: { path: '^src/cli/' },
  to: { path: '^bench/' },
};

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'import cycles are not allowed (STYLE.md habit 8)',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    ...upward,
    cliBench,
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(node_modules|dist|__tests__)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'] },
  },
};
