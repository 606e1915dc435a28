/**
 * The ring algorithms by name: the one place that turns a configured ring name into a
 * built {@link HashRing}.
 */

import { ErrorCode, OtelLbError } from '../../../errors.ts';
import { RING_NAMES, RingName, isRingName, type HashRing } from './hash-ring.ts';
import { buildOtelLbV1Ring } from './otel-lb-v1.ts';
import { buildUpstreamRing } from './upstream.ts';

/**
 * Builds the ring called `name` over `endpoints` (any order, duplicates allowed).
 *
 * @throws OtelLbError `ERR_LB_UNKNOWN_RING` for an unknown name, `ERR_LB_NO_BACKENDS`
 *   for an empty endpoint set.
 */
export function buildRing(name: string, endpoints: Iterable<string>): HashRing {
  if (!isRingName(name)) {
    throw new OtelLbError(
      ErrorCode.LB_UNKNOWN_RING,
      `unknown hash ring ${JSON.stringify(name)}: use one of ${RING_NAMES.map((n) => JSON.stringify(n)).join(', ')}`,
    );
  }
  switch (name) {
    case RingName.OTEL_LB_V1:
      return buildOtelLbV1Ring(endpoints);
    case RingName.UPSTREAM_V2:
    case RingName.UPSTREAM_V1:
      return buildUpstreamRing(name, endpoints);
  }
}
