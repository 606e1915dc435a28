/**
 * Reading a configuration file for `run` and `validate`, and printing its diagnostics as
 * Alloy does (alloy-syntax.md §7).
 */

import { readFile } from 'node:fs/promises';

import { builtinComponents } from '../components/index.ts';
import { createRegistry, type Registry } from '../runtime/registry.ts';
import { formatDiagnostics, type Diagnostic } from '../syntax/diagnostics.ts';
import { SourceFile } from '../syntax/source.ts';

/** The registry of every built-in component. */
export function builtinRegistry(): Registry {
  return createRegistry(builtinComponents);
}

/** Reads `path`; a failure is a message that names the path and says what to do. */
export async function readConfigFile(
  path: string,
): Promise<{ readonly source: SourceFile } | { readonly error: string }> {
  try {
    const bytes = await readFile(path);
    return { source: new SourceFile(path, bytes) };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT'
        ? 'no such file'
        : code === 'EISDIR'
          ? 'it is a directory; give the path of a .alloy file'
          : code === 'EACCES'
            ? 'permission denied'
            : error instanceof Error
              ? error.message
              : String(error);
    return { error: `cannot read configuration file "${path}": ${why}` };
  }
}

/** Diagnostics in Alloy's pretty form, errors and warnings alike. */
export function printDiagnostics(diagnostics: readonly Diagnostic[], source: SourceFile): string {
  return diagnostics.length === 0 ? '' : formatDiagnostics(diagnostics, source);
}
