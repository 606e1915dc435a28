/**
 * The set of component kinds a configuration may use. A value, not a global (STYLE.md §5):
 * `createRegistry(builtinComponents)`, or any list in tests.
 */

import type { AnyComponentDefinition } from './component.ts';

/** Component kinds by block name. */
export interface Registry {
  get(name: string): AnyComponentDefinition | undefined;
  /** Every registered name, sorted. */
  readonly names: readonly string[];
}

/**
 * A registry of `definitions`.
 *
 * @throws TypeError when two definitions share a name.
 */
export function createRegistry(definitions: readonly AnyComponentDefinition[]): Registry {
  const byName = new Map<string, AnyComponentDefinition>();
  for (const definition of definitions) {
    if (byName.has(definition.name)) throw new TypeError(`component ${definition.name} is registered twice`);
    byName.set(definition.name, definition);
  }
  const names = Object.freeze([...byName.keys()].sort());
  return Object.freeze({ get: (name: string) => byName.get(name), names });
}
