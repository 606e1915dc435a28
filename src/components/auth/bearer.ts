/**
 * `otelcol.auth.bearer` (components.md §7): a static token, sent by clients as
 * `<header>: <scheme> <token>` (the token alone when `scheme` is `""`) and checked by servers
 * against the same value. Header names are sent lower-case (gRPC metadata requires it, HTTP
 * does not care). The token is a `Secret`: it is revealed only to build the header value and
 * never appears in logs, errors or exports; a refused request is told only that the value
 * does not match.
 */

import { createHash, timingSafeEqual } from 'node:crypto';

import type { Component, ComponentContext, ComponentDefinition, ComponentExports } from '../../runtime/component.ts';
import { attr, body, secret, string, type Infer } from '../../syntax/schema.ts';
import {
  handlerCapsule,
  placeholderHandler,
  type ClientAuthenticator,
  type ServerAuthenticator,
} from '../config/auth.ts';
import { debugMetricsBlock } from '../config/debug-metrics.ts';
import { LiveHandler } from './handler.ts';
import { checkHeaderName } from './header-name.ts';

const NAME = 'otelcol.auth.bearer';

/** The arguments of `otelcol.auth.bearer`. */
export const bearerArgumentsSchema = body({
  token: attr('token', secret(), { required: true }),
  scheme: attr('scheme', string(), { default: 'Bearer' }),
  header: attr('header', string(), { default: 'Authorization', check: checkHeaderName }),
  debugMetrics: debugMetricsBlock(),
});
export type BearerArguments = Infer<typeof bearerArgumentsSchema>;

function headerValue(args: BearerArguments): string {
  const token = args.token.reveal();
  return args.scheme === '' ? token : `${args.scheme} ${token}`;
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

class BearerAuth implements Component<BearerArguments> {
  readonly exports: ComponentExports;
  private args: BearerArguments;

  constructor(context: ComponentContext, args: BearerArguments) {
    this.args = args;
    const client: ClientAuthenticator = {
      requiresTls: true,
      headers: () => ({ [this.args.header.toLowerCase()]: headerValue(this.args) }),
    };
    const server: ServerAuthenticator = {
      authenticate: (headers) => {
        const name = this.args.header.toLowerCase();
        const raw = headers[name];
        const value = typeof raw === 'string' ? raw : raw?.[0];
        if (value === undefined || value === '') return Promise.resolve(`missing or empty ${name} header`);
        // Digests of equal length, so the comparison takes the same time whatever was sent.
        const matches = timingSafeEqual(digest(value), digest(headerValue(this.args)));
        return Promise.resolve(matches ? undefined : 'scheme or token does not match');
      },
    };
    this.exports = {
      handler: handlerCapsule(new LiveHandler(context.id, { client: () => client, server: () => server })),
    };
  }

  start(): Promise<void> {
    return Promise.resolve();
  }

  update(args: BearerArguments): Promise<void> {
    this.args = args;
    return Promise.resolve();
  }

  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}

/** `otelcol.auth.bearer`. */
export const bearerAuthDefinition: ComponentDefinition<BearerArguments> = {
  name: NAME,
  stability: 'generally-available',
  arguments: bearerArgumentsSchema,
  placeholderExports: { handler: placeholderHandler(NAME) },
  build: (context, args) => Promise.resolve(new BearerAuth(context, args)),
};
