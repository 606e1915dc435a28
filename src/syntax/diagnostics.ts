/**
 * Diagnostics: what the scanner, parser, evaluator, decoder and loader report about a
 * configuration. Bad config is data, not an exception (STYLE.md §3): every stage returns
 * all of its diagnostics and the CLI decides whether to exit.
 */

import type { Pos } from './source.ts';

/** How bad a diagnostic is. Any `error` rejects the file. */
export type Severity = 'error' | 'warning';

/**
 * One finding about a configuration file.
 *
 * `code` is stable and meant for programs (`parse/expected-token`, `decode/missing-attribute`,
 * `graph/cycle`…); `message` is Alloy's wording, for people.
 */
export interface Diagnostic {
  readonly severity: Severity;
  readonly code: string;
  readonly message: string;
  /** Byte offset where the problem starts; `undefined` when it has no position. */
  readonly start: Pos | undefined;
  /** Byte offset where it ends (exclusive), when known. */
  readonly end?: Pos;
}
