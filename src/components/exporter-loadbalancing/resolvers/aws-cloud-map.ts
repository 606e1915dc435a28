/**
 * The `aws_cloud_map` resolver (contrib's `resolver_aws_cloudmap.go`): asks AWS Cloud Map
 * for the instances of `serviceName` in `namespace` every `intervalMs`, through
 * `DiscoverInstances`, and turns each into `ip:port`.
 *
 * - The address is the instance's `AWS_INSTANCE_IPV4` attribute (upstream reads only
 *   that), else its `AWS_INSTANCE_IPV6` (in brackets). The port is `port` when set, else
 *   the instance's registered `AWS_INSTANCE_PORT`. An instance without a usable address or
 *   port is left out and reported (upstream would route to `":"` or `"ip:"`).
 * - `healthStatus` is passed to Cloud Map as the `HealthStatus` filter (`HEALTHY`,
 *   `UNHEALTHY`, `ALL`, `HEALTHY_OR_ELSE_ALL`); Cloud Map ignores it for services without
 *   health checks.
 * - A call that fails or times out, and an answer with no usable instance, count as a
 *   failed resolution and keep the last good set (as the `dns` resolver does; upstream
 *   applies an empty answer, emptying the ring); an empty or failed answer at start is
 *   not fatal.
 * - More than upstream's 100 hosts: `DiscoverInstances` cannot page. Its request has no
 *   `NextToken` and its response none either (the API reference, and the types of
 *   `@aws-sdk/client-servicediscovery` 3.1138); `MaxResults` goes from 1 to 1000 and
 *   defaults to 100, which is upstream's limit, as it leaves it unset. Each call here asks
 *   for 1000. Cloud Map answers with the instances in random order, so an answer of 1,000
 *   may be a random part of a larger service and change on every poll; every such answer
 *   is reported through `onError`, naming the service. `ListInstances` does page, but it
 *   takes the service's ID rather than its names, has no health filter (health would cost
 *   a `GetInstancesHealthStatus` call per page) and goes to the management endpoint,
 *   whereas `DiscoverInstances` is the discovery call of the data plane
 *   (`data-servicediscovery.<region>`); so it is not used.
 * - Credentials and region come from the standard AWS chain (environment, shared config
 *   and credentials files, SSO, web identity, ECS and EC2 metadata); with no region
 *   anywhere, `us-east-1`, as upstream.
 *
 * The next call starts `intervalMs` after the previous one ended, so calls never overlap.
 */

import {
  DiscoverInstancesCommand,
  ServiceDiscoveryClient,
  type DiscoverInstancesCommandInput,
  type HttpInstanceSummary,
  type ServiceDiscoveryClientConfig,
} from '@aws-sdk/client-servicediscovery';
import { isIPv4, isIPv6 } from 'node:net';

import { systemClock, type Clock } from '../../../internal/clock.ts';
import {
  PollingResolver,
  ResolverName,
  joinHostPort,
  parsePort,
  positiveMs,
  toError,
  withDeadline,
  type ResolverCommonOptions,
} from './resolver.ts';

/** Upstream's default interval between calls. */
export const DEFAULT_AWS_CLOUD_MAP_INTERVAL_MS = 30_000;
/** Upstream's default timeout of one call. */
export const DEFAULT_AWS_CLOUD_MAP_TIMEOUT_MS = 5_000;
/** The most instances one `DiscoverInstances` call returns (the API's `MaxResults` bound). */
export const AWS_CLOUD_MAP_MAX_RESULTS = 1_000;
/** The region used when the AWS chain names none (upstream's `WithDefaultRegion`). */
export const DEFAULT_AWS_REGION = 'us-east-1';

/** Cloud Map's health filters, as `health_status` accepts them. */
export const CloudMapHealthStatus = {
  HEALTHY: 'HEALTHY',
  UNHEALTHY: 'UNHEALTHY',
  ALL: 'ALL',
  HEALTHY_OR_ELSE_ALL: 'HEALTHY_OR_ELSE_ALL',
} as const;
export type CloudMapHealthStatus = (typeof CloudMapHealthStatus)[keyof typeof CloudMapHealthStatus];

const HEALTH_STATUSES: readonly string[] = Object.values(CloudMapHealthStatus);

/** Type guard for user input naming a health filter. */
export function isCloudMapHealthStatus(value: string): value is CloudMapHealthStatus {
  return HEALTH_STATUSES.includes(value);
}

/** The attributes Cloud Map sets on an instance registered with an address and a port. */
const ATTR_IPV4 = 'AWS_INSTANCE_IPV4';
const ATTR_IPV6 = 'AWS_INSTANCE_IPV6';
const ATTR_PORT = 'AWS_INSTANCE_PORT';

/**
 * One `DiscoverInstances` call: resolves with the instances of the answer, rejects with
 * the SDK's error. Should stop early when `signal` aborts; the resolver stops waiting for
 * it either way.
 */
export type DiscoverInstances = (
  input: DiscoverInstancesCommandInput,
  signal: AbortSignal,
) => Promise<readonly HttpInstanceSummary[]>;

/** Options of {@link AwsCloudMapResolver}. */
export interface AwsCloudMapResolverOptions extends ResolverCommonOptions {
  /** The namespace's `HttpName` (usually its name); required. */
  readonly namespace: string;
  /** The service name the instances were registered under; required. */
  readonly serviceName: string;
  /** Time from the end of one call to the start of the next. Default: 30000. */
  readonly intervalMs?: number;
  /** How long one call may take (SDK retries included). Default: 5000. */
  readonly timeoutMs?: number;
  /** Which instances to ask for. Default: `HEALTHY`. */
  readonly healthStatus?: CloudMapHealthStatus;
  /** The backends' port; default: each instance's registered `AWS_INSTANCE_PORT`. */
  readonly port?: number;
  /** The account that owns a namespace shared with this one (`OwnerAccount`). */
  readonly ownerAccount?: string;
  /**
   * Settings of the SDK client the default {@link AwsCloudMapResolverOptions.discover}
   * makes (an `endpoint`, `credentials`, `region`, `maxAttempts`, …): tests and custom
   * endpoints. Default: the standard AWS chain.
   */
  readonly clientConfig?: ServiceDiscoveryClientConfig;
  /** Replaces the SDK call, `clientConfig` included (tests). */
  readonly discover?: DiscoverInstances;
  /** Default: the system clock. */
  readonly clock?: Clock;
}

/** Resolves an AWS Cloud Map service periodically into backend endpoints. */
export class AwsCloudMapResolver extends PollingResolver {
  private readonly namespace: string;
  private readonly serviceName: string;
  protected readonly intervalMs: number;
  private readonly timeoutMs: number;
  private readonly healthStatus: CloudMapHealthStatus;
  private readonly port: number | undefined;
  private readonly ownerAccount: string | undefined;
  private readonly discover: DiscoverInstances;
  private readonly closeClient: () => void;
  protected readonly clock: Clock;
  /** Reports what is wrong without failing the resolution. */
  private readonly onError: (error: Error) => void;

  /**
   * Makes no call yet (the SDK client is created, idle).
   *
   * @throws TypeError for an empty `namespace` or `serviceName`, an unknown
   *   `healthStatus`, an invalid `port`, or an interval or timeout that is not a positive
   *   number of milliseconds.
   */
  constructor(options: AwsCloudMapResolverOptions) {
    const where = 'aws_cloud_map resolver';
    super(ResolverName.AWS, where, options);
    this.namespace = required(options.namespace, `${where}: \`namespace\``, 'the Cloud Map namespace');
    this.serviceName = required(options.serviceName, `${where}: \`service_name\``, 'the Cloud Map service name');
    this.intervalMs = positiveMs(
      options.intervalMs ?? DEFAULT_AWS_CLOUD_MAP_INTERVAL_MS,
      `${where}: \`interval\``,
      '30s',
    );
    this.timeoutMs = positiveMs(options.timeoutMs ?? DEFAULT_AWS_CLOUD_MAP_TIMEOUT_MS, `${where}: \`timeout\``, '30s');
    const healthStatus = options.healthStatus ?? CloudMapHealthStatus.HEALTHY;
    if (!isCloudMapHealthStatus(healthStatus)) {
      throw new TypeError(
        `${where}: invalid health status ${JSON.stringify(healthStatus)}: use one of ${HEALTH_STATUSES.join(', ')}`,
      );
    }
    this.healthStatus = healthStatus;
    this.port = options.port === undefined ? undefined : parsePort(options.port, `${where}: \`port\``);
    this.ownerAccount = options.ownerAccount === '' ? undefined : options.ownerAccount;
    this.clock = options.clock ?? systemClock;
    if (options.discover !== undefined) {
      this.discover = options.discover;
      this.closeClient = () => undefined;
    } else {
      const sdk = sdkDiscover(options.clientConfig ?? {});
      this.discover = sdk.discover;
      this.closeClient = sdk.close;
    }
    this.onError = options.onError ?? (() => undefined);
  }

  override async shutdown(): Promise<void> {
    await super.shutdown();
    this.closeClient();
  }

  /** One call; never rejects. */
  protected async resolveOnce(): Promise<void> {
    if (this.isStopped()) return;
    const input: DiscoverInstancesCommandInput = {
      NamespaceName: this.namespace,
      ServiceName: this.serviceName,
      HealthStatus: this.healthStatus,
      MaxResults: AWS_CLOUD_MAP_MAX_RESULTS,
      ...(this.ownerAccount === undefined ? {} : { OwnerAccount: this.ownerAccount }),
    };
    let instances: readonly HttpInstanceSummary[];
    try {
      instances = await withDeadline(
        this.clock,
        this.timeoutMs,
        this.stopSignal,
        `DiscoverInstances for ${this.describe()}`,
        (signal) => this.discover(input, signal),
      );
    } catch (error) {
      if (this.isStopped()) return;
      this.fail(toError(error));
      return;
    }
    if (this.isStopped()) return;
    const { endpoints, skipped } = toEndpoints(instances, this.port);
    if (instances.length >= AWS_CLOUD_MAP_MAX_RESULTS) {
      this.onError(
        new Error(
          `aws_cloud_map resolver: ${this.describe()} answered with ${instances.length} instances, the most one DiscoverInstances call returns; ` +
            `the answer may be truncated (Cloud Map then picks the instances at random, so the backend set changes on every poll). ` +
            `DiscoverInstances cannot page: split the backends over several services`,
        ),
      );
    }
    if (skipped.length > 0) {
      this.onError(
        new Error(
          `aws_cloud_map resolver: left out ${skipped.length} of ${instances.length} instance(s) of ${this.describe()}: ${skipped.slice(0, 5).join('; ')}` +
            (skipped.length > 5 ? '; …' : ''),
        ),
      );
    }
    if (endpoints.length === 0) {
      this.fail(
        new Error(
          instances.length === 0
            ? `the answer had no instance with health status ${this.healthStatus}`
            : `no instance in the answer had a usable address and port`,
        ),
      );
      return;
    }
    this.publisher.resolution(true);
    this.publisher.publish(endpoints);
  }

  private describe(): string {
    return `service "${this.serviceName}" in namespace "${this.namespace}"`;
  }

  private fail(cause: Error): void {
    this.publisher.fail(
      new Error(
        `aws_cloud_map resolver: discovering the instances of ${this.describe()} failed (${cause.message}); ` +
          `keeping the last ${this.publisher.endpoints.length} endpoint(s) and retrying in ${this.intervalMs} ms; ` +
          `check the names, the region and that the credentials allow servicediscovery:DiscoverInstances`,
        { cause },
      ),
    );
  }
}

/**
 * The endpoints of `instances` (`port` when given, else each one's registered port), and
 * a description of each instance left out.
 */
export function toEndpoints(
  instances: readonly HttpInstanceSummary[],
  port: number | undefined,
): { readonly endpoints: string[]; readonly skipped: string[] } {
  const endpoints: string[] = [];
  const skipped: string[] = [];
  for (const instance of instances) {
    const id = instance.InstanceId ?? '(no id)';
    const attributes = instance.Attributes ?? {};
    const ipv4 = attributes[ATTR_IPV4]?.trim();
    const ipv6 = attributes[ATTR_IPV6]?.trim();
    const host = ipv4 !== undefined && isIPv4(ipv4) ? ipv4 : ipv6 !== undefined && isIPv6(ipv6) ? ipv6 : undefined;
    if (host === undefined) {
      skipped.push(`${id} has no ${ATTR_IPV4} or ${ATTR_IPV6} address`);
      continue;
    }
    let instancePort = port;
    if (instancePort === undefined) {
      const registered = attributes[ATTR_PORT];
      try {
        instancePort = parsePort(registered ?? '', `instance ${id}: ${ATTR_PORT}`);
      } catch {
        skipped.push(
          registered === undefined
            ? `${id} has no ${ATTR_PORT} (set \`port\` to use one port for every instance)`
            : `${id} has an invalid ${ATTR_PORT} ${JSON.stringify(registered)}`,
        );
        continue;
      }
    }
    endpoints.push(joinHostPort(host, instancePort));
  }
  return { endpoints, skipped };
}

/**
 * `DiscoverInstances` through the AWS SDK: a {@link ServiceDiscoveryClient} made from
 * `config`, with the region of the AWS chain or, failing that, {@link DEFAULT_AWS_REGION}.
 */
export function sdkDiscover(config: ServiceDiscoveryClientConfig): {
  readonly discover: DiscoverInstances;
  readonly close: () => void;
} {
  const client = new ServiceDiscoveryClient(
    config.region === undefined ? { ...config, region: chainRegionOrDefault() } : config,
  );
  return {
    discover: async (input, signal) => {
      const output = await client.send(new DiscoverInstancesCommand(input), { abortSignal: signal });
      return output.Instances ?? [];
    },
    close: () => {
      client.destroy();
    },
  };
}

/** A region provider: the AWS chain's region (environment, profile), else `us-east-1`. */
function chainRegionOrDefault(): () => Promise<string> {
  let region: Promise<string> | undefined;
  return () => {
    region ??= (async () => {
      const probe = new ServiceDiscoveryClient({});
      try {
        return await probe.config.region();
      } catch {
        return DEFAULT_AWS_REGION;
      } finally {
        probe.destroy();
      }
    })();
    return region;
  };
}

function required(value: string, where: string, what: string): string {
  const trimmed = value.trim();
  if (trimmed === '') throw new TypeError(`${where} is empty: give ${what}`);
  return trimmed;
}
