/**
 * A fake AWS Cloud Map data plane for the aws_cloud_map resolver's tests: an HTTP server on
 * 127.0.0.1 (port 0) that speaks the AWS JSON 1.1 protocol of
 * `Route53AutoNaming_v20170314.DiscoverInstances`, as the SDK calls it when built with
 * `endpoint: fake.url`, static credentials and `disableHostPrefix: true`.
 *
 * - Instances are kept per namespace and service; the answer honours `HealthStatus`
 *   (`HEALTHY`, `UNHEALTHY`, `ALL`, `HEALTHY_OR_ELSE_ALL`; ignored for a service without
 *   health checks, as Cloud Map does) and `MaxResults` (default 100, at most 1000).
 * - An unknown namespace or service gets Cloud Map's error (`NamespaceNotFound`,
 *   `ServiceNotFound`, status 400); faults can be injected ({@link FakeCloudMap.fail}), and a
 *   request can be left unanswered ({@link FakeCloudMap.hang}) to exercise timeouts.
 * - Every request is recorded with its parsed body and SigV4 `Authorization` header;
 *   {@link FakeCloudMap.nextRequest} resolves when one has arrived.
 */

import { once } from 'node:events';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

const TARGET = 'Route53AutoNaming_v20170314.DiscoverInstances';
const CONTENT_TYPE = 'application/x-amz-json-1.1';

/** One registered instance. */
export interface FakeInstance {
  readonly id: string;
  /** `AWS_INSTANCE_IPV4`, `AWS_INSTANCE_IPV6`, `AWS_INSTANCE_PORT`, custom ones. */
  readonly attributes: Readonly<Record<string, string>>;
  /** Ignored when the service has no health checks. Default: HEALTHY. */
  readonly health?: 'HEALTHY' | 'UNHEALTHY' | 'UNKNOWN';
}

/** A recorded request. */
export interface CloudMapRequest {
  readonly target: string | undefined;
  readonly authorization: string | undefined;
  readonly body: Readonly<Record<string, unknown>>;
}

/** An injected error answer. */
export interface CloudMapFault {
  readonly status: number;
  /** The error's `__type`, e.g. `RequestLimitExceeded`, `AccessDeniedException`. */
  readonly type: string;
  readonly message?: string;
}

interface Service {
  instances: FakeInstance[];
  readonly healthChecked: boolean;
}

/** See the module comment. */
export class FakeCloudMap {
  readonly requests: CloudMapRequest[] = [];
  private readonly server: http.Server;
  private readonly services = new Map<string, Service>();
  private readonly namespaces = new Set<string>();
  private faults: CloudMapFault[] = [];
  private hanging = 0;
  private waiters: ((request: CloudMapRequest) => void)[] = [];
  private revision = 1;

  private constructor() {
    this.server = http.createServer((request, response) => {
      this.handle(request, response).catch((error: unknown) => {
        response.writeHead(500).end(String(error));
      });
    });
  }

  /** Starts a server on 127.0.0.1, on a free port. */
  static async start(): Promise<FakeCloudMap> {
    const fake = new FakeCloudMap();
    fake.server.listen(0, '127.0.0.1');
    await once(fake.server, 'listening');
    return fake;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** Registers (or replaces) the instances of a service; creates namespace and service. */
  setInstances(
    namespace: string,
    service: string,
    instances: readonly FakeInstance[],
    options: { readonly healthChecked?: boolean } = {},
  ): void {
    this.namespaces.add(namespace);
    const previous = this.services.get(`${namespace}/${service}`);
    this.services.set(`${namespace}/${service}`, {
      instances: [...instances],
      healthChecked: options.healthChecked ?? previous?.healthChecked ?? true,
    });
    this.revision++;
  }

  /** The next request gets this error instead of an answer. */
  fail(fault: CloudMapFault): void {
    this.faults.push(fault);
  }

  /** The next `count` requests get no answer (until the client gives up or the server closes). */
  hang(count = 1): void {
    this.hanging += count;
  }

  /** Resolves with the next request to arrive. */
  nextRequest(): Promise<CloudMapRequest> {
    return new Promise((resolve) => {
      this.waiters.push(resolve);
    });
  }

  /** Stops, dropping every connection (hanging requests included). */
  async close(): Promise<void> {
    const closed = once(this.server, 'close');
    this.server.close();
    this.server.closeAllConnections();
    await closed;
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    const parsed: unknown = text === '' ? {} : JSON.parse(text);
    const body = typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>) : {};
    const recorded: CloudMapRequest = {
      target: header(request, 'x-amz-target'),
      authorization: header(request, 'authorization'),
      body,
    };
    this.requests.push(recorded);
    for (const wake of this.waiters.splice(0)) wake(recorded);

    if (this.hanging > 0) {
      this.hanging--;
      return; // the response stays open until the client aborts or close() drops it
    }
    if (request.method !== 'POST' || recorded.target !== TARGET) {
      sendError(response, 400, 'UnknownOperationException', `the fake serves only ${TARGET}`);
      return;
    }
    const fault = this.faults.shift();
    if (fault !== undefined) {
      sendError(response, fault.status, fault.type, fault.message ?? fault.type);
      return;
    }
    const namespace = String(body['NamespaceName']);
    const serviceName = String(body['ServiceName']);
    if (!this.namespaces.has(namespace)) {
      sendError(response, 400, 'NamespaceNotFound', `Namespace not found: ${namespace}`);
      return;
    }
    const service = this.services.get(`${namespace}/${serviceName}`);
    if (service === undefined) {
      sendError(response, 400, 'ServiceNotFound', `Service not found: ${serviceName}`);
      return;
    }
    const max = typeof body['MaxResults'] === 'number' ? body['MaxResults'] : 100;
    if (max < 1 || max > 1000) {
      sendError(response, 400, 'InvalidInput', `MaxResults ${max} is not from 1 to 1000`);
      return;
    }
    const selected = filterHealth(service, typeof body['HealthStatus'] === 'string' ? body['HealthStatus'] : 'ALL');
    const instances = selected.slice(0, max).map((instance) => ({
      InstanceId: instance.id,
      NamespaceName: namespace,
      ServiceName: serviceName,
      ...(service.healthChecked ? { HealthStatus: instance.health ?? 'HEALTHY' } : {}),
      Attributes: instance.attributes,
    }));
    response.writeHead(200, { 'Content-Type': CONTENT_TYPE, 'x-amzn-RequestId': `req-${this.requests.length}` });
    response.end(JSON.stringify({ Instances: instances, InstancesRevision: this.revision }));
  }
}

function filterHealth(service: Service, filter: string): FakeInstance[] {
  if (!service.healthChecked) return service.instances;
  const healthy = service.instances.filter((i) => (i.health ?? 'HEALTHY') === 'HEALTHY');
  switch (filter) {
    case 'HEALTHY':
      return healthy;
    case 'UNHEALTHY':
      return service.instances.filter((i) => i.health === 'UNHEALTHY');
    case 'HEALTHY_OR_ELSE_ALL':
      return healthy.length > 0 ? healthy : service.instances;
    default:
      return service.instances;
  }
}

function header(request: IncomingMessage, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value.join(',') : value;
}

function sendError(response: ServerResponse, status: number, type: string, message: string): void {
  response.writeHead(status, { 'Content-Type': CONTENT_TYPE, 'x-amzn-ErrorType': type });
  response.end(JSON.stringify({ __type: type, Message: message }));
}
