/**
 * The `static` resolver: a fixed list of backends (contrib's `resolver_static.go`).
 * Entries without a port get {@link DEFAULT_PORT}; the list is sorted and de-duplicated,
 * and published once, at start.
 */

import { normalizeEndpoints } from '../hash-ring/hash-ring.ts';
import {
  DEFAULT_PORT,
  EndpointPublisher,
  ResolverName,
  endpointWithPort,
  type EndpointsListener,
  type Resolver,
  type ResolverCommonOptions,
} from './resolver.ts';

/** Options of {@link StaticResolver}. */
export interface StaticResolverOptions extends ResolverCommonOptions {
  /** `host`, `host:port`, `[ipv6]:port`, …; at least one. Duplicates are dropped. */
  readonly hostnames: readonly string[];
}

/** Publishes a fixed endpoint list once, at start. */
export class StaticResolver implements Resolver {
  readonly name = ResolverName.STATIC;
  private readonly publisher: EndpointPublisher;
  private readonly list: readonly string[];
  private started = false;

  /**
   * @throws TypeError when `hostnames` is empty or an entry is not a valid endpoint (the
   *   message names the entry).
   */
  constructor(options: StaticResolverOptions) {
    if (options.hostnames.length === 0) {
      throw new TypeError('static resolver: `hostnames` is empty: list at least one backend, e.g. ["backend-1:4317"]');
    }
    this.list = Object.freeze(
      normalizeEndpoints(
        options.hostnames.map((h, i) => endpointWithPort(h, DEFAULT_PORT, `static resolver: hostnames[${i}]`)),
      ),
    );
    this.publisher = new EndpointPublisher(this.name, options);
  }

  get endpoints(): readonly string[] {
    return this.publisher.endpoints;
  }

  onChange(listener: EndpointsListener): () => void {
    return this.publisher.onChange(listener);
  }

  start(signal: AbortSignal): Promise<void> {
    if (this.started) throw new TypeError('static resolver: start() was called twice; call it once');
    this.started = true;
    if (signal.aborted) return Promise.resolve();
    this.publisher.resolution(true);
    this.publisher.publish(this.list);
    return Promise.resolve();
  }

  shutdown(): Promise<void> {
    this.publisher.close();
    return Promise.resolve();
  }
}
