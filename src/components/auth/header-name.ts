/** Header names as `otelcol.auth.bearer` and `otelcol.auth.headers` accept them. */

/** An HTTP field name (RFC 9110 `token`). */
const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/**
 * A problem with `name` as a header name, or `undefined` when it is one. Upstream accepts any
 * string and fails every request at send time instead; otel-lb says so at load time.
 */
export function checkHeaderName(name: string): string | undefined {
  return HEADER_NAME.test(name) ? undefined : `${JSON.stringify(name)} is not a valid header name`;
}
