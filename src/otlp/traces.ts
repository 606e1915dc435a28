/**
 * `ExportTraceServiceRequest` as the splitter sees it: spans are the items, keyed by
 * `Span.trace_id` (field 1).
 */

import { Signal, type SignalShape } from './signal.ts';
import { splitRequest, type KeyRouter, type RoutingKey, type SplitResult } from './splitter.ts';

/** The shape of a traces request. */
export const TRACES_SHAPE: SignalShape = {
  signal: Signal.TRACES,
  requestName: 'ExportTraceServiceRequest',
  resourcesField: 'resource_spans',
  scopesField: 'scope_spans',
  itemsField: 'spans',
  resourceName: 'ResourceSpans',
  scopeName: 'ScopeSpans',
  itemName: 'Span',
  traceIdField: 1,
};

/**
 * Splits an `ExportTraceServiceRequest` into one request per backend. Never throws: a
 * malformed request is returned as `{ ok: false, error }` (see `splitter.ts` for the rules).
 */
export function splitTraces(request: Uint8Array, routingKey: RoutingKey, router: KeyRouter): SplitResult {
  return splitRequest(TRACES_SHAPE, request, routingKey, router);
}
