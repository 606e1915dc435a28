/**
 * `otelcol.auth.headers` (components.md §8): headers that exporters add to every request, one
 * `header` block each. Client side only: a receiver cannot use it (`server` is undefined).
 *
 * Each block takes its value from exactly one of `value` (a string or a secret),
 * `from_context` or `from_attribute`, and applies its `action` to the headers built so far,
 * in block order: `insert` sets the header only if an earlier block did not, `update` only
 * if one did, `upsert` always, `delete` removes it. Names are sent lower-case.
 *
 * `from_context` copies the first value of a metadata entry of the request the items came in,
 * which receivers keep with `include_metadata = true` (a request without the entry gets no
 * such header). Not yet honoured, with a warning at load time: `from_attribute` (otel-lb
 * passes no authentication data to exporters); and the actions apply to this handler's
 * headers only, not to headers the exporter sets itself (its `headers` argument), which the
 * Collector's HTTP client also sees. Secret values stay `Secret`s until the header is built.
 */

import type { Component, ComponentContext, ComponentDefinition, ComponentExports } from '../../runtime/component.ts';
import { attr, blocks, body, refine, string, stringOrSecret, type Infer, type Issue } from '../../syntax/schema.ts';
import type { RequestMetadata } from '../../otlp/batch.ts';
import type { Secret } from '../../syntax/value.ts';
import { handlerCapsule, placeholderHandler, type ClientAuthenticator } from '../config/auth.ts';
import { debugMetricsBlock } from '../config/debug-metrics.ts';
import { LiveHandler } from './handler.ts';
import { checkHeaderName } from './header-name.ts';

const NAME = 'otelcol.auth.headers';

/** What a `header` block does with its header. */
export const HEADER_ACTIONS = ['insert', 'update', 'upsert', 'delete'] as const;
export type HeaderAction = (typeof HEADER_ACTIONS)[number];

function actionOf(text: string): HeaderAction | undefined {
  const lower = text.toLowerCase();
  return HEADER_ACTIONS.find((a) => a === lower);
}

const headerFields = body(
  {
    key: attr('key', string(), {
      required: true,
      check: (v) => (v === '' ? 'key must be set to a non-empty string' : checkHeaderName(v)),
    }),
    value: attr('value', stringOrSecret()),
    fromContext: attr('from_context', string()),
    fromAttribute: attr('from_attribute', string()),
    action: attr('action', string(), {
      default: 'upsert',
      check: (v) => (actionOf(v) === undefined ? `unknown action ${v}` : undefined),
    }),
  },
  {
    validate: (h) => {
      const issues: Issue[] = [];
      const sources = [h.value, h.fromContext, h.fromAttribute].filter((s) => s !== undefined).length;
      if (sources === 0) {
        issues.push({
          message: 'one of value, from_context, or from_attribute must be provided',
          code: 'decode/one-of',
        });
      } else if (sources > 1) {
        issues.push({
          message: 'only one of value, from_context, or from_attribute may be provided',
          code: 'decode/one-of',
        });
      }
      if (h.fromAttribute !== undefined) {
        issues.push({
          severity: 'warning',
          field: 'fromAttribute',
          code: 'decode/not-supported',
          message: `from_attribute is not supported by otel-lb yet (exporters get no authentication data): header ${JSON.stringify(h.key)} will never be set`,
        });
      }
      return issues;
    },
  },
);

/** Where a header's value comes from. */
export type HeaderSource =
  | { readonly kind: 'value'; readonly value: string | Secret }
  | { readonly kind: 'context'; readonly key: string }
  | { readonly kind: 'attribute'; readonly key: string };

const headerSchema = refine(headerFields, (h) => {
  const source: HeaderSource =
    h.value !== undefined
      ? { kind: 'value', value: h.value }
      : h.fromContext !== undefined
        ? { kind: 'context', key: h.fromContext }
        : { kind: 'attribute', key: h.fromAttribute ?? '' };
  return { key: h.key, action: actionOf(h.action) ?? 'upsert', source };
});

/** The arguments of `otelcol.auth.headers`. */
export const headersArgumentsSchema = body({
  headers: blocks('header', headerSchema),
  debugMetrics: debugMetricsBlock(),
});
export type HeadersArguments = Infer<typeof headersArgumentsSchema>;

/**
 * The headers the `header` blocks of `args` produce, in block order (see the module comment),
 * for a request with `metadata` (what `from_context` reads; none: those headers are not set).
 */
export function buildHeaders(args: HeadersArguments, metadata?: RequestMetadata): Readonly<Record<string, string>> {
  const out = new Map<string, string>();
  for (const h of args.headers) {
    const key = h.key.toLowerCase();
    if (h.action === 'delete') {
      out.delete(key);
      continue;
    }
    let value: string | undefined;
    if (h.source.kind === 'value') {
      value = typeof h.source.value === 'string' ? h.source.value : h.source.value.reveal();
    } else if (h.source.kind === 'context') {
      value = metadata?.get(h.source.key.toLowerCase())?.[0];
    }
    if (value === undefined) continue;
    if (h.action === 'insert' && out.has(key)) continue;
    if (h.action === 'update' && !out.has(key)) continue;
    out.set(key, value);
  }
  return Object.fromEntries(out);
}

class HeadersAuth implements Component<HeadersArguments> {
  readonly exports: ComponentExports;
  private headers: Readonly<Record<string, string>>;
  private args: HeadersArguments;

  constructor(context: ComponentContext, args: HeadersArguments) {
    this.args = args;
    this.headers = buildHeaders(args);
    const client: ClientAuthenticator = {
      requiresTls: false,
      // Static headers are built once; only headers copied from the request are built per call.
      headers: (metadata) =>
        metadata !== undefined && this.args.headers.some((h) => h.source.kind === 'context')
          ? buildHeaders(this.args, metadata)
          : this.headers,
    };
    this.exports = {
      handler: handlerCapsule(new LiveHandler(context.id, { client: () => client, server: () => undefined })),
    };
  }

  start(): Promise<void> {
    return Promise.resolve();
  }

  update(args: HeadersArguments): Promise<void> {
    this.args = args;
    this.headers = buildHeaders(args);
    return Promise.resolve();
  }

  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}

/** `otelcol.auth.headers`. */
export const headersAuthDefinition: ComponentDefinition<HeadersArguments> = {
  name: NAME,
  stability: 'generally-available',
  arguments: headersArgumentsSchema,
  placeholderExports: { handler: placeholderHandler(NAME) },
  build: (context, args) => Promise.resolve(new HeadersAuth(context, args)),
};
