/**
 * `npm run bench`: runs every micro-benchmark in this folder, one process each, so that one
 * benchmark's heap and JIT state do not colour the next. `BENCH_SMOKE=1` makes each one a
 * single quick pass (what `npm test` runs).
 */

import { spawnSync } from 'node:child_process';

const BENCHES = [
  'routing.bench.ts',
  'load-balancer.bench.ts',
  'json.bench.ts',
  'hash-ring.bench.ts',
  'hash-ring-quality.ts',
];

let failed = 0;
for (const file of BENCHES) {
  const path = new URL(file, import.meta.url).pathname;
  console.log(`\n## ${file}\n`);
  const result = spawnSync(process.execPath, [path], { stdio: 'inherit', env: process.env });
  if (result.status !== 0) {
    failed++;
    console.error(`${file} exited with ${String(result.status ?? result.signal)}`);
  }
}
process.exitCode = failed === 0 ? 0 : 1;
