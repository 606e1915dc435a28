/**
 * `ExportLogsServiceRequest` as the splitter sees it: log records are the items, keyed by
 * `LogRecord.trace_id` (field 9). Most log records carry no trace ID; those travel with
 * their request (see `splitter.ts`).
 */

import { Signal, type SignalShape } from './signal.ts';
import { splitRequest, type KeyRouter, type RoutingKey, type SplitResult } from './splitter.ts';

/** The shape of a logs request. */
export const LOGS_SHAPE: SignalShape = {
  signal: Signal.LOGS,
  requestName: 'ExportLogsServiceRequest',
  resourcesField: 'resource_logs',
  scopesField: 'scope_logs',
  itemsField: 'log_records',
  resourceName: 'ResourceLogs',
  scopeName: 'ScopeLogs',
  itemName: 'LogRecord',
  traceIdField: 9,
};

/**
 * Splits an `ExportLogsServiceRequest` into one request per backend. Never throws: a
 * malformed request is returned as `{ ok: false, error }` (see `splitter.ts` for the rules).
 */
export function splitLogs(request: Uint8Array, routingKey: RoutingKey, router: KeyRouter): SplitResult {
  return splitRequest(LOGS_SHAPE, request, routingKey, router);
}
