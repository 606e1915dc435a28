/**
 * Apache-style htpasswd text for the server side of `otelcol.auth.basic`: one `user:hash` per
 * line, read as tg123/go-htpasswd (what the Collector's `basicauth` extension uses) reads it:
 * lines are trimmed, blank lines skipped, each line split at its first `:`, and a later line
 * for the same user replaces an earlier one.
 *
 * Hash schemes:
 * - `{SHA}` + base64 of SHA-1, and `{SSHA}` + base64 of SHA-1 followed by the salt;
 * - anything else is a plain-text password (`{PLAIN}secret` also matches `secret`, as nginx
 *   writes it and go-htpasswd accepts it).
 *
 * Refused, with a message naming the line: bcrypt (`$2y$`, `$2a$`, `$2b$`, `$2x$`), MD5-crypt
 * (`$apr1$`, `$1$`) and SHA-crypt (`$5$`, `$6$`). Upstream accepts them, but otel-lb has no
 * vetted implementation of those algorithms among its dependencies, and taking such a hash
 * for a plain password would lock the user out without a word. Malformed lines (no `:`) are
 * skipped and reported, as go-htpasswd reports them to its bad-line handler.
 *
 * Comparisons take the same time whatever the password is (digests compared with
 * `timingSafeEqual`).
 */

import { createHash, timingSafeEqual } from 'node:crypto';

/** Checks one password. */
export type PasswordMatcher = (password: string) => boolean;

/** What {@link parseHtpasswd} found. */
export interface ParsedHtpasswd {
  readonly users: ReadonlyMap<string, PasswordMatcher>;
  /** Lines that use a scheme otel-lb refuses: the handler must not start with them. */
  readonly errors: readonly string[];
  /** Lines that were skipped (no `:`). */
  readonly warnings: readonly string[];
}

const UNSUPPORTED: readonly { readonly prefix: string; readonly scheme: string }[] = [
  { prefix: '$2y$', scheme: 'bcrypt' },
  { prefix: '$2a$', scheme: 'bcrypt' },
  { prefix: '$2b$', scheme: 'bcrypt' },
  { prefix: '$2x$', scheme: 'bcrypt' },
  { prefix: '$apr1$', scheme: 'MD5-crypt' },
  { prefix: '$1$', scheme: 'MD5-crypt' },
  { prefix: '$5$', scheme: 'SHA-256-crypt' },
  { prefix: '$6$', scheme: 'SHA-512-crypt' },
];

const SHA1_BYTES = 20;

/**
 * Parses htpasswd `text`; `origin` names where it came from in messages (`htpasswd file
 * "/etc/otel/htpasswd"`, `htpasswd inline`). Never throws. Messages name the line and the
 * user, never the hash.
 */
export function parseHtpasswd(text: string, origin: string): ParsedHtpasswd {
  const users = new Map<string, PasswordMatcher>();
  const errors: string[] = [];
  const warnings: string[] = [];
  const lines = text.split('\n');
  for (const [i, raw] of lines.entries()) {
    const line = raw.trim();
    if (line === '') continue;
    const colon = line.indexOf(':');
    if (colon < 0) {
      warnings.push(`${origin} line ${i + 1}: malformed line, no colon; skipped`);
      continue;
    }
    const user = line.slice(0, colon);
    const encoded = line.slice(colon + 1);
    const matcher = matcherFor(encoded);
    if (typeof matcher === 'string') {
      errors.push(`${origin} line ${i + 1} (user ${JSON.stringify(user)}): ${matcher}`);
      continue;
    }
    users.set(user, matcher);
  }
  return { users, errors, warnings };
}

/** A matcher for a plain-text password (the top-level `username`/`password` pair). */
export function plainMatcher(expected: string): PasswordMatcher {
  const digest = sha256(expected);
  return (password) => timingSafeEqual(sha256(password), digest);
}

function matcherFor(encoded: string): PasswordMatcher | string {
  for (const { prefix, scheme } of UNSUPPORTED) {
    if (encoded.startsWith(prefix)) {
      return `${scheme} password hashes (${prefix}…) are not supported by otel-lb; use {SHA} (htpasswd -s) or a plain-text password`;
    }
  }
  if (encoded.startsWith('{SHA}')) {
    const digest = base64Bytes(encoded.slice(5));
    if (digest?.length !== SHA1_BYTES) return 'malformed {SHA} hash: expected the base64 of 20 bytes';
    return (password) => timingSafeEqual(sha1(password), digest);
  }
  if (encoded.startsWith('{SSHA}')) {
    const decoded = base64Bytes(encoded.slice(6));
    if (decoded === undefined || decoded.length <= SHA1_BYTES) {
      return 'malformed {SSHA} hash: expected the base64 of 20 bytes and a salt';
    }
    const digest = decoded.subarray(0, SHA1_BYTES);
    const salt = decoded.subarray(SHA1_BYTES);
    return (password) => timingSafeEqual(sha1(password, salt), digest);
  }
  const plain = plainMatcher(encoded);
  const prefixed = plainMatcher(encoded.startsWith('{PLAIN}') ? encoded.slice(7) : encoded);
  return (password) => {
    // Both comparisons always run, so the time taken does not tell which one matched.
    const a = plain(password);
    const b = prefixed(password);
    return a || b;
  };
}

function base64Bytes(text: string): Buffer | undefined {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4 !== 0) return undefined;
  return Buffer.from(text, 'base64');
}

function sha1(text: string, salt?: Uint8Array): Buffer {
  const hash = createHash('sha1').update(text, 'utf8');
  if (salt !== undefined) hash.update(salt);
  return hash.digest();
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}
