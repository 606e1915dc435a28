/**
 * The OTLP signals and the shape of their export requests as the splitter sees them.
 *
 * Traces, logs and metrics requests share one layout, which is what lets a single walker
 * serve all three:
 *
 * ```
 * Export*ServiceRequest { repeated Resource*  resource_* = 1; }
 * Resource*             { Resource resource = 1; repeated Scope* scope_* = 2; string schema_url = 3; }
 * Scope*                { InstrumentationScope scope = 1; repeated Item items = 2; string schema_url = 3; }
 * ```
 */

/** The OTLP signals. */
export const Signal = {
  TRACES: 'traces',
  LOGS: 'logs',
  METRICS: 'metrics',
} as const;
export type Signal = (typeof Signal)[keyof typeof Signal];

/** Field numbers shared by every signal's request layout (see the module comment). */
export const RequestField = {
  /** `Export*ServiceRequest.resource_*` */
  RESOURCES: 1,
  /** `Resource*.resource` */
  RESOURCE: 1,
  /** `Resource*.scope_*` */
  SCOPES: 2,
  /** `Scope*.spans`, `.log_records`, `.metrics` */
  ITEMS: 2,
} as const;

/** Field numbers inside `Resource`, `KeyValue` and `AnyValue`. */
export const AttributeField = {
  /** `Resource.attributes` */
  RESOURCE_ATTRIBUTES: 1,
  /** `KeyValue.key` */
  KEY: 1,
  /** `KeyValue.value` */
  VALUE: 2,
  /** `AnyValue.string_value` */
  STRING_VALUE: 1,
  /** The highest field number of the `AnyValue.value` oneof (`bytes_value`). */
  LAST_ANY_VALUE: 7,
} as const;

/** Names and the item's trace-ID field of one signal's request, for walkers and messages. */
export interface SignalShape {
  readonly signal: Signal;
  /** e.g. `ExportTraceServiceRequest` */
  readonly requestName: string;
  /** Field names of the three levels, e.g. `resource_spans`, `scope_spans`, `spans`. */
  readonly resourcesField: string;
  readonly scopesField: string;
  readonly itemsField: string;
  /** e.g. `ResourceSpans` */
  readonly resourceName: string;
  /** e.g. `ScopeSpans` */
  readonly scopeName: string;
  /** e.g. `Span` */
  readonly itemName: string;
  /** Field number of the item's `trace_id` (`Span.trace_id` = 1, `LogRecord.trace_id` = 9). */
  readonly traceIdField: number;
}

/** Length of an OTLP trace ID in bytes. */
export const TRACE_ID_BYTES = 16;
