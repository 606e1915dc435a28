/**
 * The handler every `otelcol.auth.*` component exports. Exports are fixed at build time, but
 * whether a handler has a client or a server side can change with its arguments (a reload
 * that adds an `htpasswd` block), so the sides are read through functions the component
 * supplies. Each side is one object for the component's life: a client that kept it keeps
 * getting current credentials.
 */

import type { AuthHandler, ClientAuthenticator, ServerAuthenticator } from '../config/auth.ts';

/** An {@link AuthHandler} whose sides follow the component's current arguments. */
export class LiveHandler implements AuthHandler {
  readonly componentId: string;
  readonly #client: () => ClientAuthenticator | undefined;
  readonly #server: () => ServerAuthenticator | undefined;

  constructor(
    componentId: string,
    sides: {
      readonly client: () => ClientAuthenticator | undefined;
      readonly server: () => ServerAuthenticator | undefined;
    },
  ) {
    this.componentId = componentId;
    this.#client = sides.client;
    this.#server = sides.server;
  }

  get client(): ClientAuthenticator | undefined {
    return this.#client();
  }

  get server(): ServerAuthenticator | undefined {
    return this.#server();
  }
}
