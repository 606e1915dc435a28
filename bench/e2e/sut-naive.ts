/**
 * SUT `naive`: a trace-aware load balancer the way a TypeScript developer would first
 * write it. A `@grpc/grpc-js` server whose deserializer decodes each request with protobufjs
 * (message objects, as `Type.decode` gives them; `@grpc/proto-loader`'s `toObject` would be
 * slower still), spans grouped by a simple hash of the trace ID onto the backends (under
 * their resource and scope), one request per backend encoded with protobufjs and sent with
 * a grpc-js client per backend; the caller is answered once every backend has answered.
 * No queue, no merging, no retries.
 */

import * as grpc from '@grpc/grpc-js';
import type { Message } from 'protobufjs';

import { otlpRoot } from '../../src/otlp/proto/decoder.ts';
import { OtlpGrpcPath } from '../../src/transport/grpc-protocol.ts';
import { announce, ownUsage, serve } from './rpc.ts';
import { parseSutArgs } from './sut-args.ts';

interface Span {
  traceId?: Uint8Array;
}
interface ScopeSpans {
  scope?: unknown;
  schemaUrl?: string;
  spans?: Span[];
}
interface ResourceSpans {
  resource?: unknown;
  schemaUrl?: string;
  scopeSpans?: ScopeSpans[];
}
type Request = Message & { resourceSpans?: ResourceSpans[] };

const args = parseSutArgs();
const requestType = otlpRoot().lookupType('opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest');
const EMPTY = Buffer.alloc(0);

const exportMethod: grpc.MethodDefinition<Request, Buffer> = {
  path: OtlpGrpcPath.TRACES,
  requestStream: false,
  responseStream: false,
  requestSerialize: (request) => Buffer.from(requestType.encode(request).finish()),
  requestDeserialize: (bytes) => requestType.decode(bytes),
  // An empty ExportTraceServiceResponse is zero bytes.
  responseSerialize: () => EMPTY,
  responseDeserialize: () => EMPTY,
};
const TraceService = grpc.makeGenericClientConstructor({ Export: exportMethod }, 'TraceService');
const channelOptions: grpc.ChannelOptions =
  args.compression === 'gzip' ? { 'grpc.default_compression_algorithm': grpc.compressionAlgorithms.gzip } : {};
const backends = args.endpoints.map((e) => new TraceService(e, grpc.credentials.createInsecure(), channelOptions));

function backendOf(traceId: Uint8Array | undefined): number {
  if (traceId === undefined || traceId.length < 4) return 0;
  return Buffer.from(traceId.buffer, traceId.byteOffset, traceId.byteLength).readUInt32BE(0) % backends.length;
}

/** Groups the request's spans by backend, keeping each span under its resource and scope. */
function split(request: Request): Map<number, ResourceSpans[]> {
  const perBackend = new Map<number, ResourceSpans[]>();
  for (const rs of request.resourceSpans ?? []) {
    const resources = new Map<number, ResourceSpans>();
    for (const ss of rs.scopeSpans ?? []) {
      const scopes = new Map<number, ScopeSpans>();
      for (const span of ss.spans ?? []) {
        const b = backendOf(span.traceId);
        let scope = scopes.get(b);
        if (scope === undefined) {
          scope = { scope: ss.scope, schemaUrl: ss.schemaUrl ?? '', spans: [] };
          scopes.set(b, scope);
          let resource = resources.get(b);
          if (resource === undefined) {
            resource = { resource: rs.resource, schemaUrl: rs.schemaUrl ?? '', scopeSpans: [] };
            resources.set(b, resource);
            const list = perBackend.get(b) ?? [];
            list.push(resource);
            perBackend.set(b, list);
          }
          resource.scopeSpans?.push(scope);
        }
        scope.spans?.push(span);
      }
    }
  }
  return perBackend;
}

function send(backend: number, request: Request): Promise<void> {
  return new Promise((resolve, reject) => {
    backends[backend]?.makeUnaryRequest(
      OtlpGrpcPath.TRACES,
      exportMethod.requestSerialize,
      exportMethod.responseDeserialize,
      request,
      (error: grpc.ServiceError | null) => {
        if (error === null) resolve();
        else reject(error);
      },
    );
  });
}

const server = new grpc.Server();
server.addService(
  { Export: exportMethod },
  {
    Export: (call: grpc.ServerUnaryCall<Request, Buffer>, callback: grpc.sendUnaryData<Buffer>) => {
      const parts = [...split(call.request)].map(([backend, resourceSpans]) =>
        send(backend, requestType.create({ resourceSpans }) as Request),
      );
      Promise.all(parts).then(
        () => {
          callback(null, EMPTY);
        },
        (error: unknown) => {
          callback(error as grpc.ServiceError);
        },
      );
    },
  },
);
const port = await new Promise<number>((resolve, reject) => {
  server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, bound) => {
    if (error === null) resolve(bound);
    else reject(error);
  });
});
serve({ stats: () => ownUsage() }, () => {
  server.forceShutdown();
});
announce({ port });
