/**
 * OTLP/gRPC backends served by `@grpc/grpc-js`, an implementation independent of ours, for
 * end-to-end tests of the exporters' client options: on 127.0.0.1 (port 0), in cleartext,
 * over TLS or with mTLS from the fixtures of `test/fixtures/tls/`.
 *
 * Each backend records every call it gets (the `:authority`, the `grpc-encoding`, the
 * metadata, the client certificate's subject, the items in the request and the status it
 * answered) and the items it accepted. It answers OK unless told otherwise: the first N calls
 * with a status ({@link GrpcJsBackend.failFirst}), every call ({@link GrpcJsBackend.failAll}),
 * or not before the test says so ({@link GrpcJsBackend.hold}). Tests wait on a {@link Watch}
 * (notified on every call and answer) instead of sleeping.
 */

import * as grpc from '@grpc/grpc-js';

import { decodeTracesRequest } from '../../src/otlp/proto/decoder.ts';
import { OtlpGrpcPath } from '../../src/transport/grpc-protocol.ts';
import { logItemKeys } from './otlp-items.ts';
import { fixturePem } from './tls-fixtures.ts';

/** How a backend secures its port: cleartext, server TLS, or TLS with client certificates required. */
export type BackendSecurity = 'cleartext' | 'tls' | 'mtls';

/** One call as the backend saw it. */
export interface ReceivedCall {
  readonly signal: 'traces' | 'logs';
  /** The `:authority` the client sent. */
  readonly authority: string;
  /** The `grpc-encoding` the client sent (`identity` when none). */
  readonly encoding: string;
  /** Custom metadata (lower-case names), text values only. */
  readonly metadata: Readonly<Record<string, string>>;
  /** The common name of the client certificate (mTLS), if any. */
  readonly clientCertificate: string | undefined;
  /** The items of the request: `traceId:spanId` of each span, or each log record's canonical JSON. */
  readonly items: readonly string[];
  /** The status answered; undefined while the call is held. */
  status: grpc.status | undefined;
}

/** Re-checks waiting predicates whenever something they read may have changed. */
export class Watch {
  private waiters: { readonly done: () => boolean; readonly resolve: () => void }[] = [];

  /** Something changed: resolves the waits whose predicate now holds. */
  notify(): void {
    this.waiters = this.waiters.filter((w) => {
      if (!w.done()) return true;
      w.resolve();
      return false;
    });
  }

  /** Resolves once `done()` holds (checked now and on every {@link notify}). */
  until(done: () => boolean): Promise<void> {
    if (done()) return Promise.resolve();
    return new Promise((resolve) => {
      this.waiters.push({ done, resolve });
    });
  }
}

/** Options of {@link GrpcJsBackend.start}. */
export interface GrpcJsBackendOptions {
  /** Default `cleartext`. */
  readonly security?: BackendSecurity;
  /** Default 0: a free port. */
  readonly port?: number;
  /** Notified on every call and answer; default a watch of the backend's own. */
  readonly watch?: Watch;
}

/** A status to answer instead of OK. */
export interface ScriptedStatus {
  readonly code: grpc.status;
  readonly details?: string;
}

const identity = (bytes: Buffer): Buffer => bytes;

function exportMethod(path: string): grpc.MethodDefinition<Buffer, Buffer> {
  return {
    path,
    requestStream: false,
    responseStream: false,
    requestSerialize: identity,
    requestDeserialize: identity,
    responseSerialize: identity,
    responseDeserialize: identity,
  };
}

/** Where the interceptor leaves the `grpc-encoding` of a call for the handler to read. */
const SEEN_ENCODING = 'x-test-seen-grpc-encoding';

/**
 * grpc-js strips `grpc-encoding` from the metadata it hands to handlers (it decompresses the
 * message itself), so an interceptor, which runs after grpc-js has parsed the request headers,
 * copies it from the call grpc-js made for the stream (`BaseServerInterceptingCall`'s
 * `incomingEncoding`, in grpc-js 1.10 to 1.14) into the metadata.
 */
const recordEncoding: grpc.ServerInterceptor = (_method, call) => {
  const seen: unknown = Reflect.get(call, 'incomingEncoding');
  const encoding = typeof seen === 'string' ? seen : 'unknown (grpc-js internals changed)';
  return new grpc.ServerInterceptingCall(
    call,
    new grpc.ResponderBuilder()
      .withStart((next) => {
        next(
          new grpc.ServerListenerBuilder()
            .withOnReceiveMetadata((metadata, nextMetadata) => {
              metadata.set(SEEN_ENCODING, encoding);
              nextMetadata(metadata);
            })
            .build(),
        );
      })
      .build(),
  );
};

function credentials(security: BackendSecurity): grpc.ServerCredentials {
  if (security === 'cleartext') return grpc.ServerCredentials.createInsecure();
  const keyCertPairs = [
    { private_key: Buffer.from(fixturePem('server.key')), cert_chain: Buffer.from(fixturePem('server.crt')) },
  ];
  return security === 'mtls'
    ? grpc.ServerCredentials.createSsl(Buffer.from(fixturePem('ca.crt')), keyCertPairs, true)
    : grpc.ServerCredentials.createSsl(null, keyCertPairs, false);
}

/** The item keys of a request, as {@link ReceivedCall.items} spells them. */
export function requestItems(signal: 'traces' | 'logs', bytes: Uint8Array): string[] {
  if (signal === 'logs') return logItemKeys(bytes);
  const request = decodeTracesRequest(bytes);
  return (request.resourceSpans ?? []).flatMap((rs) =>
    (rs.scopeSpans ?? []).flatMap((ss) => (ss.spans ?? []).map((s) => `${s.traceId ?? ''}:${s.spanId ?? ''}`)),
  );
}

function commonName(
  certificate: { readonly subject?: { readonly CN?: string | string[] } } | undefined,
): string | undefined {
  const cn = certificate?.subject?.CN;
  return Array.isArray(cn) ? cn.join(',') : cn;
}

/** A running grpc-js OTLP backend (traces and logs). */
export class GrpcJsBackend {
  /** `127.0.0.1:<port>`. */
  readonly endpoint: string;
  readonly port: number;
  /** Every call, in arrival order. */
  readonly calls: ReceivedCall[] = [];
  /** The items of every call answered OK, in order. */
  readonly accepted: string[] = [];
  readonly watch: Watch;
  private readonly server: grpc.Server;
  private failuresLeft = 0;
  private failure: ScriptedStatus | undefined;
  private failForever = false;
  private holding = false;
  private held: (() => void)[] = [];

  private constructor(server: grpc.Server, port: number, watch: Watch) {
    this.server = server;
    this.port = port;
    this.endpoint = `127.0.0.1:${port}`;
    this.watch = watch;
  }

  /** Starts a backend on 127.0.0.1. */
  static async start(options: GrpcJsBackendOptions = {}): Promise<GrpcJsBackend> {
    const server = new grpc.Server({ interceptors: [recordEncoding] });
    const port = await new Promise<number>((resolve, reject) => {
      server.bindAsync(
        `127.0.0.1:${options.port ?? 0}`,
        credentials(options.security ?? 'cleartext'),
        (error, bound) => {
          if (error === null) resolve(bound);
          else reject(error);
        },
      );
    });
    const backend = new GrpcJsBackend(server, port, options.watch ?? new Watch());
    server.addService({ Export: exportMethod(OtlpGrpcPath.TRACES) }, { Export: backend.handler('traces') });
    server.addService({ Export: exportMethod(OtlpGrpcPath.LOGS) }, { Export: backend.handler('logs') });
    return backend;
  }

  /** Answers the next `n` calls with `status` (default UNAVAILABLE), then OK. */
  failFirst(
    n: number,
    status: ScriptedStatus = { code: grpc.status.UNAVAILABLE, details: 'injected for the test' },
  ): void {
    this.failuresLeft = n;
    this.failure = status;
    this.failForever = false;
  }

  /** Answers every call with `status` from now on. */
  failAll(status: ScriptedStatus = { code: grpc.status.UNAVAILABLE, details: 'injected for the test' }): void {
    this.failure = status;
    this.failForever = true;
  }

  /** Holds every call from now on: it is recorded, and answered once {@link release} is called. */
  hold(): void {
    this.holding = true;
  }

  /** Answers the calls held so far and stops holding. */
  release(): void {
    this.holding = false;
    for (const answer of this.held.splice(0)) answer();
  }

  /** Distinct items seen in any call, answered OK or not. */
  seenItems(): Set<string> {
    return new Set(this.calls.flatMap((c) => c.items));
  }

  /** Calls answered with `code`. */
  answered(code: grpc.status): number {
    return this.calls.filter((c) => c.status === code).length;
  }

  /** Stops at once (connections closed): the backend is down. */
  close(): void {
    this.release();
    this.server.forceShutdown();
  }

  private handler(signal: 'traces' | 'logs'): grpc.handleUnaryCall<Buffer, Buffer> {
    return (call, callback) => {
      const map = call.metadata.getMap();
      const metadata: Record<string, string> = {};
      let encoding = 'identity';
      for (const [key, value] of Object.entries(map)) {
        if (typeof value !== 'string') continue;
        if (key === SEEN_ENCODING) encoding = value;
        else metadata[key] = value;
      }
      const auth = call.getAuthContext();
      const received: ReceivedCall = {
        signal,
        authority: call.getHost(),
        encoding,
        metadata,
        clientCertificate: commonName(auth.sslPeerCertificate),
        items: requestItems(signal, call.request),
        status: undefined,
      };
      this.calls.push(received);
      const answer = (): void => {
        const failure = this.nextFailure();
        received.status = failure?.code ?? grpc.status.OK;
        if (failure === undefined) this.accepted.push(...received.items);
        this.watch.notify();
        if (failure === undefined) callback(null, Buffer.alloc(0));
        else callback({ code: failure.code, details: failure.details ?? 'scripted failure' });
      };
      if (this.holding) {
        this.held.push(answer);
        this.watch.notify();
      } else {
        answer();
      }
    };
  }

  private nextFailure(): ScriptedStatus | undefined {
    if (this.failure === undefined) return undefined;
    if (this.failForever) return this.failure;
    if (this.failuresLeft <= 0) return undefined;
    this.failuresLeft--;
    return this.failure;
  }
}
