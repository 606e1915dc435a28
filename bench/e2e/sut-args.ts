/**
 * The command line every system under test takes from `run.ts`, and the reply to its
 * `stats` request.
 *
 *   --endpoints HOST:PORT,…   the sink backends, in order
 *   --compression none|gzip   between the SUT and the sinks (what the clients send is
 *                             announced in their own grpc-encoding)
 *   --workers N               processes (otel-lb only; node:cluster sharing the port)
 *
 * A SUT announces `{ port }` (its OTLP/gRPC receiver on 127.0.0.1) and answers `stats` with
 * the {@link ProcessUsage} of all its processes together.
 */

import { parseArgs } from 'node:util';

import type { Compression } from '../../src/transport/compression.ts';

/** The parsed SUT command line. */
export interface SutArgs {
  readonly endpoints: readonly string[];
  readonly compression: Compression;
  readonly workers: number;
}

/** What a SUT announces once it accepts calls. */
export interface SutReady {
  readonly port: number;
}

/** Parses `process.argv` of a SUT. */
export function parseSutArgs(): SutArgs {
  const { values } = parseArgs({
    options: {
      endpoints: { type: 'string' },
      compression: { type: 'string', default: 'none' },
      workers: { type: 'string', default: '1' },
    },
  });
  const endpoints = (values.endpoints ?? '').split(',').filter((e) => e !== '');
  if (endpoints.length === 0) throw new Error('--endpoints is required');
  const compression = values.compression;
  if (compression !== 'none' && compression !== 'gzip') throw new Error(`--compression ${compression}: none or gzip`);
  return { endpoints, compression, workers: Math.max(1, Number(values.workers)) };
}
