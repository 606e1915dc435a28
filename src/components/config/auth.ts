/**
 * `otelcol.Handler`: what `otelcol.auth.*` components export as `handler`, and what a client's
 * or a receiver's `auth` attribute takes. In the language it is a capsule; inside it is an
 * {@link AuthHandler} with a client side (headers to add to every outgoing request), a server
 * side (a check of incoming requests), or both.
 */

import type { RequestMetadata } from '../../otlp/batch.ts';
import { capsule, type ValueType } from '../../syntax/schema.ts';
import { capsuleValue, type CapsuleValue } from '../../syntax/value.ts';

/** The capsule type name, as Alloy spells it. */
export const HANDLER_TYPE = 'otelcol.Handler';

/** Incoming request metadata: lower-case header names. */
export type RequestHeaders = Readonly<Record<string, string | readonly string[] | undefined>>;

/** Adds credentials to outgoing requests. */
export interface ClientAuthenticator {
  /**
   * Headers (gRPC metadata) to add to one request, lower-case names. Called per request;
   * must be cheap when the credentials are static. Rejects when credentials cannot be had
   * (a token file that cannot be read): the request then fails as retryable.
   */
  headers(metadata?: RequestMetadata): Readonly<Record<string, string>> | Promise<Readonly<Record<string, string>>>;
  /**
   * Whether the credentials may only travel over TLS. gRPC refuses basic and bearer
   * credentials on a cleartext connection (components.md §0.4); otel-lb reports that at
   * load time instead of failing every request.
   */
  readonly requiresTls: boolean;
}

/** Checks incoming requests. */
export interface ServerAuthenticator {
  /** Resolves `undefined` when the request may pass, or why not (answered as 401 / UNAUTHENTICATED). */
  authenticate(headers: RequestHeaders): Promise<string | undefined>;
}

/** What an `otelcol.auth.*` component exports. */
export interface AuthHandler {
  /** The component ID, for messages. */
  readonly componentId: string;
  readonly client: ClientAuthenticator | undefined;
  readonly server: ServerAuthenticator | undefined;
}

function isAuthHandler(x: unknown): x is AuthHandler {
  return typeof x === 'object' && x !== null && 'componentId' in x && 'client' in x && 'server' in x;
}

/** The `capsule(otelcol.Handler)` attribute type. */
export function handlerType(): ValueType<AuthHandler> {
  return capsule(HANDLER_TYPE, isAuthHandler);
}

/** Wraps a handler for a component's exports. */
export function handlerCapsule(handler: AuthHandler): CapsuleValue {
  return capsuleValue(HANDLER_TYPE, handler);
}

/** A stand-in handler for placeholder exports. */
export function placeholderHandler(componentName: string): CapsuleValue {
  return handlerCapsule({ componentId: componentName, client: undefined, server: undefined });
}
