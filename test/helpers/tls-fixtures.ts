/**
 * The TLS fixtures of `test/fixtures/tls/` (see its `regenerate.sh` for what each is): their
 * paths and contents, and a scratch directory for tests that replace files under a running
 * server or client (reload tests).
 */

import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const DIR = path.join(import.meta.dirname, '..', 'fixtures', 'tls');

/** A fixture file's name, e.g. `ca.crt`, `server.key`. */
export type TlsFixture =
  | 'ca.crt'
  | 'server.crt'
  | 'server.key'
  | 'server-2.crt'
  | 'server-2.key'
  | 'client.crt'
  | 'client.key'
  | 'client-2.crt'
  | 'client-2.key'
  | 'expired.crt'
  | 'expired.key'
  | 'wrong-host.crt'
  | 'wrong-host.key'
  | 'other-ca.crt'
  | 'other-client.crt'
  | 'other-client.key';

/** The path of a fixture. */
export function fixturePath(name: TlsFixture): string {
  return path.join(DIR, name);
}

/** The PEM text of a fixture. */
export function fixturePem(name: TlsFixture): string {
  return readFileSync(fixturePath(name), 'utf8');
}

/** A temporary directory holding copies of fixtures under names of the test's choosing. */
export class ScratchDir {
  readonly path = mkdtempSync(path.join(os.tmpdir(), 'otel-lb-tls-'));

  /** Copies `fixture` to `name` in the directory (replacing it) and returns the new file's path. */
  put(name: string, fixture: TlsFixture): string {
    const target = path.join(this.path, name);
    copyFileSync(fixturePath(fixture), target);
    return target;
  }

  file(name: string): string {
    return path.join(this.path, name);
  }

  remove(): void {
    rmSync(this.path, { recursive: true, force: true });
  }
}
