// Import rules that fail `npm test` (STYLE.md §0, §8): no cycles, and the layers point one way:
// syntax <- runtime <- components; components use otlp, transport and telemetry, which know
// nothing of components; src never imports test or bench code.
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    { name: 'no-circular', severity: 'error', from: {}, to: { circular: true } },
    {
      name: 'syntax-is-the-bottom-layer',
      comment: 'src/syntax knows nothing of the runtime, components or the wire format.',
      severity: 'error',
      from: { path: '^src/syntax/' },
      to: { path: '^src/(runtime|components|otlp|transport|telemetry|cli)/' },
    },
    {
      name: 'runtime-knows-components-by-interface-only',
      severity: 'error',
      from: { path: '^src/runtime/' },
      to: { path: '^src/(components|cli)/' },
    },
    {
      name: 'shared-layers-know-no-components',
      comment: 'otlp, transport and telemetry are building blocks: they import no component, runtime or syntax code.',
      severity: 'error',
      from: { path: '^src/(otlp|transport|telemetry)/' },
      to: { path: '^src/(components|runtime|syntax|cli)/' },
    },
    {
      name: 'otlp-is-pure',
      comment: 'The wire format depends on nothing else of ours but internal helpers and errors.',
      severity: 'error',
      from: { path: '^src/otlp/' },
      to: { path: '^src/(transport|telemetry)/' },
    },
    {
      name: 'telemetry-is-a-leaf',
      comment: 'Metrics, logs and the status server depend on nothing else of ours but internal helpers and errors.',
      severity: 'error',
      from: { path: '^src/telemetry/' },
      to: { path: '^src/(otlp|transport)/' },
    },
    {
      name: 'hash-ring-is-pure',
      comment: 'Rings are pure code: no I/O modules.',
      severity: 'error',
      from: { path: '/hash-ring/' },
      to: { dependencyTypes: ['core'], path: '^(node:)?(fs|net|http|http2|dns|child_process|tls)$' },
    },
    {
      name: 'src-does-not-import-tests-or-benches',
      severity: 'error',
      from: { path: '^src/', pathNot: '\\.test\\.ts$' },
      to: { path: '^(test|bench)/|\\.test\\.ts$' },
    },
    {
      name: 'no-unresolvable',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default'],
      extensions: ['.ts', '.js', '.json'],
    },
  },
};
