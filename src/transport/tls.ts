/**
 * TLS for the clients and servers of the transport layer: Alloy's `tls` block (the
 * Collector's `configtls`) turned into `node:tls` options, with the files re-read every
 * `reload_interval` for new connections.
 *
 * ```
 * ClientTlsSettings ──loadClientTls──▶ ClientTls ──connectOptions(host)──▶ tls.connect(…)
 * ServerTlsSettings ──loadServerTls──▶ ServerTls ──serverOptions / attach(server)──▶ createSecureServer(…)
 * ```
 *
 * What is mirrored from the Go Collector (`configtls`, Go's `crypto/tls`), and how:
 *
 * | setting | Go | here |
 * |---|---|---|
 * | `min_version` | `""` → TLS 1.2; `"1.0"`…`"1.3"`; else `unsupported TLS version` | same values → `TLSv1`…`TLSv1.3`; below 1.2 also `@SECLEVEL=0`, without which OpenSSL 3 refuses TLS 1.0/1.1 |
 * | `max_version` | `""` → newest (1.3) | same |
 * | `cipher_suites` | Go names, only those of `tls.CipherSuites()`; TLS 1.3 suites cannot be configured (Go always offers all three, and ignores TLS 1.3 names in the list) | Go names mapped to OpenSSL names ({@link GO_CIPHER_SUITES}); the three TLS 1.3 suites are always added, whatever the list says |
 * | empty `cipher_suites` | Go's defaults | Node's defaults (`tls.DEFAULT_CIPHERS`): also ECDHE + AEAD first |
 * | `curve_preferences` | `X25519`, `P256`, `P384`, `P521` | the same names → OpenSSL's `ecdhCurve` |
 * | no `ca_*` | the system roots | Node's bundled roots plus the system store |
 * | `include_system_ca_certs_pool` | system roots plus the CA | the same (Node's bundled roots, the system store, the CA) |
 * | `insecure` (client) | plaintext, unless a CA is configured (`LoadTLSConfig` returns no TLS config only when `insecure` and no CA) | the same: {@link loadClientTls} returns undefined |
 * | `insecure_skip_verify` | no chain or name check | `rejectUnauthorized: false` |
 * | `server_name` | SNI and the name checked; default the host of the `:authority` | the same: {@link ClientTls.connectOptions} takes the default |
 * | `client_ca_file` (server) | `RequireAndVerifyClientCert` | `requestCert` + `rejectUnauthorized` |
 * | `reload_interval` | cert and key re-read at a handshake once the interval passed; a failed read fails that handshake | cert, key and CA files re-read on a timer; new connections use the new files, existing ones carry on; a failed read keeps the previous files (and is reported), so traffic never stops |
 *
 * Bad material fails early and clearly ({@link TransportError} codes): a file that cannot be
 * read (`ERR_TLS_FILE_UNREADABLE`), PEM that holds no certificate or does not parse
 * (`ERR_TLS_PEM_INVALID`), a key that is not the certificate's (`ERR_TLS_KEY_MISMATCH`),
 * settings that cannot work (`ERR_TLS_SETTINGS_INVALID`). Messages name the attribute and
 * file, never the key.
 *
 * {@link validateTlsSettings} returns the problems a configuration decoder reports as
 * diagnostics (Alloy's own messages for the exclusive pairs, the Collector's for versions).
 */

import { X509Certificate, createPrivateKey, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import net from 'node:net';
import tls from 'node:tls';

import { systemClock, type Clock } from '../internal/clock.ts';
import { errorCode, TransportError, TransportErrorCode } from './transport-error.ts';

/** Settings of both sides (Alloy's `tls` block, §0.3); empty strings count as unset, as in Go. */
export interface TlsSettings {
  readonly caFile?: string | undefined;
  readonly caPem?: string | undefined;
  readonly certFile?: string | undefined;
  readonly certPem?: string | undefined;
  readonly keyFile?: string | undefined;
  /**
   * The private key PEM. A function is called once, when the settings are loaded, so that a
   * secret is revealed only there.
   */
  readonly keyPem?: string | (() => string) | undefined;
  /** `"1.0"`, `"1.1"`, `"1.2"` or `"1.3"`; unset or `""` is 1.2. */
  readonly minVersion?: string | undefined;
  /** As `minVersion`; unset or `""` is the newest (1.3). */
  readonly maxVersion?: string | undefined;
  /** Go cipher suite names (see {@link GO_CIPHER_SUITES}); empty: the defaults. */
  readonly cipherSuites?: readonly string[] | undefined;
  /** Also accept the suites Go calls insecure (`tls.InsecureCipherSuites()`). */
  readonly includeInsecureCipherSuites?: boolean | undefined;
  /** Add the system's CA store to the configured CA. */
  readonly includeSystemCaCertsPool?: boolean | undefined;
  /** `X25519`, `P256`, `P384`, `P521`, in order of preference; empty: the defaults. */
  readonly curvePreferences?: readonly string[] | undefined;
  /** Re-read the files this often, in milliseconds; 0 or unset never re-reads them. */
  readonly reloadIntervalMs?: number | undefined;
}

/** A client's `tls` block. */
export interface ClientTlsSettings extends TlsSettings {
  /** Plaintext, no TLS at all (unless a CA is configured: see the module comment). */
  readonly insecure?: boolean | undefined;
  /** TLS without checking the server's certificate chain or name. */
  readonly insecureSkipVerify?: boolean | undefined;
  /** The name sent as SNI and checked against the server's certificate. */
  readonly serverName?: string | undefined;
}

/** A server's `tls` block. */
export interface ServerTlsSettings extends TlsSettings {
  /** CA file that client certificates must chain to; setting it makes client certificates mandatory (mTLS). */
  readonly clientCaFile?: string | undefined;
}

/** One problem of a `tls` block, as a configuration decoder reports it. */
export interface TlsProblem {
  /** The attribute (snake_case, as in the configuration) the problem is about. */
  readonly attribute: string;
  readonly message: string;
}

/** Options of {@link loadClientTls} and {@link loadServerTls}. */
export interface TlsLoadOptions {
  /** Time source of the reload timer; the real clock by default. */
  readonly clock?: Clock;
  /** Called after a reload that changed the files (new connections use them from now on). */
  readonly onReload?: () => void;
  /** Called when a reload fails; the previous files stay in use. Must not throw. */
  readonly onReloadError?: (error: TransportError) => void;
}

/** The Alloy/Collector TLS version strings and what OpenSSL calls them. */
const TLS_VERSIONS: ReadonlyMap<string, tls.SecureVersion> = new Map<string, tls.SecureVersion>([
  ['1.0', 'TLSv1'],
  ['1.1', 'TLSv1.1'],
  ['1.2', 'TLSv1.2'],
  ['1.3', 'TLSv1.3'],
]);
const VERSION_ORDER: readonly tls.SecureVersion[] = ['TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3'];
const DEFAULT_MIN_VERSION: tls.SecureVersion = 'TLSv1.2';
const DEFAULT_MAX_VERSION: tls.SecureVersion = 'TLSv1.3';

/**
 * Go's cipher suite names (`tls.CipherSuites()`, Go 1.22+) and the OpenSSL name of each;
 * `null` for the TLS 1.3 suites, which Go accepts in the list but does not let anyone
 * configure (every TLS 1.3 handshake offers all three).
 */
export const GO_CIPHER_SUITES: ReadonlyMap<string, string | null> = new Map<string, string | null>([
  ['TLS_AES_128_GCM_SHA256', null],
  ['TLS_AES_256_GCM_SHA384', null],
  ['TLS_CHACHA20_POLY1305_SHA256', null],
  ['TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA', 'ECDHE-ECDSA-AES128-SHA'],
  ['TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA', 'ECDHE-ECDSA-AES256-SHA'],
  ['TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA', 'ECDHE-RSA-AES128-SHA'],
  ['TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA', 'ECDHE-RSA-AES256-SHA'],
  ['TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256', 'ECDHE-ECDSA-AES128-GCM-SHA256'],
  ['TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384', 'ECDHE-ECDSA-AES256-GCM-SHA384'],
  ['TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256', 'ECDHE-RSA-AES128-GCM-SHA256'],
  ['TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384', 'ECDHE-RSA-AES256-GCM-SHA384'],
  ['TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256', 'ECDHE-RSA-CHACHA20-POLY1305'],
  ['TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256', 'ECDHE-ECDSA-CHACHA20-POLY1305'],
]);

/** Go's `tls.InsecureCipherSuites()` and their OpenSSL names (RC4 is gone from OpenSSL 3; naming it fails the load). */
export const GO_INSECURE_CIPHER_SUITES: ReadonlyMap<string, string> = new Map<string, string>([
  ['TLS_RSA_WITH_RC4_128_SHA', 'RC4-SHA'],
  ['TLS_RSA_WITH_3DES_EDE_CBC_SHA', 'DES-CBC3-SHA'],
  ['TLS_RSA_WITH_AES_128_CBC_SHA', 'AES128-SHA'],
  ['TLS_RSA_WITH_AES_256_CBC_SHA', 'AES256-SHA'],
  ['TLS_RSA_WITH_AES_128_CBC_SHA256', 'AES128-SHA256'],
  ['TLS_RSA_WITH_AES_128_GCM_SHA256', 'AES128-GCM-SHA256'],
  ['TLS_RSA_WITH_AES_256_GCM_SHA384', 'AES256-GCM-SHA384'],
  ['TLS_ECDHE_ECDSA_WITH_RC4_128_SHA', 'ECDHE-ECDSA-RC4-SHA'],
  ['TLS_ECDHE_RSA_WITH_RC4_128_SHA', 'ECDHE-RSA-RC4-SHA'],
  ['TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA', 'ECDHE-RSA-DES-CBC3-SHA'],
  ['TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256', 'ECDHE-ECDSA-AES128-SHA256'],
  ['TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256', 'ECDHE-RSA-AES128-SHA256'],
]);

/** The TLS 1.3 suites, always enabled (as Go does). */
const TLS13_SUITES = 'TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256';

/** Go's curve names (`configtls`) and OpenSSL's. */
const CURVES: ReadonlyMap<string, string> = new Map([
  ['X25519', 'X25519'],
  ['P256', 'P-256'],
  ['P384', 'P-384'],
  ['P521', 'P-521'],
]);

/**
 * The problems of a `tls` block, in the order Alloy and the Collector check them; empty when
 * it is valid. Pure. Covers the exclusive pairs, certificate without key (and the reverse),
 * a server without a certificate, versions, cipher suites and curves; files are not read.
 */
export function validateTlsSettings(settings: TlsSettings, role: 'client' | 'server' = 'client'): TlsProblem[] {
  const problems: TlsProblem[] = [];
  const add = (attribute: string, message: string): void => {
    problems.push({ attribute, message });
  };
  if (isSet(settings.caPem) && isSet(settings.caFile))
    add('ca_pem', 'at most one of ca_pem and ca_file must be configured');
  if (isSet(settings.certPem) && isSet(settings.certFile)) {
    add('cert_pem', 'at most one of cert_pem and cert_file must be configured');
  }
  if (hasKeyPem(settings) && isSet(settings.keyFile))
    add('key_pem', 'at most one of key_pem and key_file must be configured');
  const hasCert = isSet(settings.certPem) || isSet(settings.certFile);
  const hasKey = hasKeyPem(settings) || isSet(settings.keyFile);
  if (hasCert && !hasKey) {
    add('key_file', 'exactly one of key_pem or key_file must be configured when a client certificate is configured');
  } else if (hasKey && !hasCert) {
    add('cert_file', 'exactly one of cert_pem or cert_file must be configured when a client key is configured');
  } else if (role === 'server' && !hasCert) {
    add(
      'cert_file',
      'TLS configuration must include both certificate and key for server connections; set cert_file and key_file (or cert_pem and key_pem)',
    );
  }
  const min = parseVersion(settings.minVersion, 'min_version', add);
  const max = parseVersion(settings.maxVersion, 'max_version', add);
  if (min !== undefined && max !== undefined && isSet(settings.maxVersion)) {
    if (VERSION_ORDER.indexOf(max) < VERSION_ORDER.indexOf(min)) {
      add('max_version', 'invalid TLS configuration: min_version cannot be greater than max_version');
    }
  }
  for (const suite of settings.cipherSuites ?? []) {
    if (
      !GO_CIPHER_SUITES.has(suite) &&
      !(settings.includeInsecureCipherSuites === true && GO_INSECURE_CIPHER_SUITES.has(suite))
    ) {
      const valid = [
        ...GO_CIPHER_SUITES.keys(),
        ...(settings.includeInsecureCipherSuites === true ? GO_INSECURE_CIPHER_SUITES.keys() : []),
      ];
      const insecure = GO_INSECURE_CIPHER_SUITES.has(suite)
        ? ' (it is one of the insecure suites; set include_insecure_cipher_suites = true to allow it)'
        : '';
      add(
        'cipher_suites',
        `invalid TLS cipher suite: ${JSON.stringify(suite)}${insecure}; valid suites are ${valid.join(', ')}`,
      );
    }
  }
  for (const curve of settings.curvePreferences ?? []) {
    if (!CURVES.has(curve)) {
      add(
        'curve_preferences',
        `invalid curve type: ${JSON.stringify(curve)}; expected values are ${[...CURVES.keys()].join(', ')}`,
      );
    }
  }
  return problems;
}

/**
 * Client TLS material, loaded and kept current: the secure context new connections use, and
 * how they check the server. Share one between the clients of one configuration (every
 * backend of a load balancer); `close` stops its reload timer. Safe to use concurrently.
 */
export class ClientTls {
  /** `server_name`, when set. */
  readonly serverName: string | undefined;
  /** `insecure_skip_verify`. */
  readonly insecureSkipVerify: boolean;
  private readonly source: MaterialSource;
  private context: tls.SecureContext;

  /** @internal Use {@link loadClientTls}. */
  constructor(settings: ClientTlsSettings, options: TlsLoadOptions) {
    this.serverName = isSet(settings.serverName) ? settings.serverName : undefined;
    this.insecureSkipVerify = settings.insecureSkipVerify === true;
    this.source = new MaterialSource(settings, 'client', options, (material) => {
      this.context = createContext(material);
    });
    this.context = createContext(this.source.current);
  }

  /** The secure context for new connections; replaced when a reload changes the files. */
  get secureContext(): tls.SecureContext {
    return this.context;
  }

  /**
   * `tls.connect` options for one new connection whose server should be `hostname` (the
   * host of the `:authority`) unless `server_name` says otherwise: the current secure
   * context, SNI (not for IP addresses, which TLS forbids there) and the identity check.
   * The caller adds the socket or address and `ALPNProtocols`.
   */
  connectOptions(hostname: string): tls.ConnectionOptions {
    const name = this.serverName ?? hostname;
    const options: tls.ConnectionOptions = {
      secureContext: this.context,
      rejectUnauthorized: !this.insecureSkipVerify,
      checkServerIdentity: (_host, certificate) => tls.checkServerIdentity(name, certificate),
    };
    if (net.isIP(name) === 0) options.servername = name;
    return options;
  }

  /** Stops re-reading the files. Idempotent; connections are not affected. */
  close(): void {
    this.source.close();
  }
}

/**
 * Server TLS material, loaded and kept current. Hand {@link serverOptions} to
 * `createSecureServer` and {@link attach} the server so that reloads reach it.
 */
export class ServerTls {
  private readonly source: MaterialSource;
  private readonly servers = new Set<tls.Server>();
  private readonly requireClientCert: boolean;

  /** @internal Use {@link loadServerTls}. */
  constructor(settings: ServerTlsSettings, options: TlsLoadOptions) {
    this.requireClientCert = isSet(settings.clientCaFile);
    this.source = new MaterialSource(settings, 'server', options, (material) => {
      const context = contextOptions(material);
      for (const server of this.servers) server.setSecureContext(context);
    });
    // Fail now on material Node cannot use (e.g. a cipher list OpenSSL refuses).
    createContext(this.source.current);
  }

  /** Whether clients must present a certificate that chains to `client_ca_file`. */
  get requiresClientCertificate(): boolean {
    return this.requireClientCert;
  }

  /** Options for `tls`/`https`/`http2.createSecureServer`, from the current files. */
  get serverOptions(): tls.TlsOptions {
    const options: tls.TlsOptions = contextOptions(this.source.current);
    if (this.requireClientCert) {
      options.requestCert = true;
      options.rejectUnauthorized = true;
    }
    return options;
  }

  /** Keeps `server`'s certificates current on reloads until the returned function is called. */
  attach(server: tls.Server): () => void {
    this.servers.add(server);
    return () => {
      this.servers.delete(server);
    };
  }

  /** Stops re-reading the files. Idempotent. */
  close(): void {
    this.source.close();
    this.servers.clear();
  }
}

/**
 * Loads a client's TLS material. Returns undefined when the connection is to be plaintext
 * (`insecure` without a CA, as the Collector decides). Reads the files synchronously, once;
 * with `reloadIntervalMs` they are re-read on a timer (unref'd) until `close()`.
 *
 * @throws TransportError `ERR_TLS_SETTINGS_INVALID` (see {@link validateTlsSettings}, or
 *   material OpenSSL refuses), `ERR_TLS_FILE_UNREADABLE`, `ERR_TLS_PEM_INVALID`,
 *   `ERR_TLS_KEY_MISMATCH`.
 */
export function loadClientTls(settings: ClientTlsSettings, options: TlsLoadOptions = {}): ClientTls | undefined {
  if (settings.insecure === true && !isSet(settings.caFile) && !isSet(settings.caPem)) return undefined;
  throwProblems(validateTlsSettings(settings, 'client'));
  return new ClientTls(settings, options);
}

/**
 * Loads a server's TLS material; see {@link loadClientTls} for reading, reloading and errors.
 * A certificate and key are required.
 */
export function loadServerTls(settings: ServerTlsSettings, options: TlsLoadOptions = {}): ServerTls {
  throwProblems(validateTlsSettings(settings, 'server'));
  return new ServerTls(settings, options);
}

/**
 * A short explanation and remedy for a TLS handshake failure from Node (by its code), or
 * undefined when `error` is not one: for messages such as "… failed: certificate has
 * expired (CERT_HAS_EXPIRED); the server's certificate has expired: renew it".
 */
export function describeTlsFailure(error: unknown): string | undefined {
  const code = errorCode(error);
  switch (code) {
    case 'CERT_HAS_EXPIRED':
      return "the server's certificate has expired: renew it";
    case 'CERT_NOT_YET_VALID':
      return "the server's certificate is not valid yet: check its dates and both clocks";
    case 'ERR_TLS_CERT_ALTNAME_INVALID':
      return "the server's certificate is not issued for this host name: connect by a name it covers, or set tls.server_name to one";
    case 'UNABLE_TO_VERIFY_LEAF_SIGNATURE':
    case 'UNABLE_TO_GET_ISSUER_CERT':
    case 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY':
    case 'SELF_SIGNED_CERT_IN_CHAIN':
    case 'DEPTH_ZERO_SELF_SIGNED_CERT':
    case 'CERT_SIGNATURE_FAILURE':
      return "the server's certificate is not signed by a trusted CA: set tls.ca_file (or ca_pem) to the CA that issued it";
    case 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED':
    case 'ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE':
      return 'the server requires a client certificate: set tls.cert_file and tls.key_file';
    case 'ERR_SSL_TLSV1_ALERT_UNKNOWN_CA':
    case 'ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE':
    case 'ERR_SSL_SSLV3_ALERT_CERTIFICATE_UNKNOWN':
      return 'the server refused our client certificate: use one issued by the CA the server trusts';
    case 'ERR_SSL_WRONG_VERSION_NUMBER':
    case 'ERR_SSL_PACKET_LENGTH_TOO_LONG':
    case 'ERR_SSL_HTTP_REQUEST':
      return 'the peer does not speak TLS: if it is plaintext, set tls.insecure = true';
    case 'ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION':
    case 'ERR_SSL_UNSUPPORTED_PROTOCOL':
    case 'ERR_SSL_NO_PROTOCOLS_AVAILABLE':
      return 'no TLS version both sides accept: check tls.min_version and tls.max_version';
    case 'ERR_SSL_SSL/TLS_ALERT_HANDSHAKE_FAILURE':
    case 'ERR_SSL_NO_SHARED_CIPHER':
      return 'the handshake failed: no cipher suite or client certificate both sides accept (check tls.cipher_suites, and whether the server requires a client certificate)';
    default:
      return undefined;
  }
}

// --- loading -------------------------------------------------------------------------------

/** Which side a {@link MaterialSource} is for. */
type Role = 'client' | 'server';

/** The PEM material of one load, checked. */
interface Material {
  readonly ca: readonly string[] | undefined;
  readonly cert: string | undefined;
  readonly key: string | undefined;
  readonly minVersion: tls.SecureVersion;
  readonly maxVersion: tls.SecureVersion;
  readonly ciphers: string | undefined;
  readonly ecdhCurve: string | undefined;
}

/** The file contents (or inline PEM) a load read, to see whether a reload changed anything. */
interface Inputs {
  readonly ca: string | undefined;
  readonly cert: string | undefined;
  readonly key: string | undefined;
}

/** Reads and checks the material, and re-reads it every `reloadIntervalMs`. */
class MaterialSource {
  private readonly settings: TlsSettings & ServerTlsSettings;
  private readonly role: Role;
  private readonly keyPem: string | undefined;
  private readonly options: TlsLoadOptions;
  private readonly onChange: (material: Material) => void;
  private readonly stop = new AbortController();
  private inputs: Inputs;
  current: Material;

  constructor(settings: TlsSettings, role: Role, options: TlsLoadOptions, onChange: (material: Material) => void) {
    this.settings = settings;
    this.role = role;
    this.options = options;
    this.onChange = onChange;
    const keyPem = typeof settings.keyPem === 'function' ? settings.keyPem() : settings.keyPem;
    this.keyPem = isSet(keyPem) ? keyPem : undefined;
    this.inputs = this.readSync();
    this.current = buildMaterial(this.settings, this.role, this.inputs);
    const intervalMs = settings.reloadIntervalMs ?? 0;
    if (intervalMs > 0 && this.hasFiles()) void this.reloadLoop(intervalMs);
  }

  close(): void {
    this.stop.abort();
  }

  private hasFiles(): boolean {
    const s = this.settings;
    return isSet(s.caFile) || isSet(s.certFile) || isSet(s.keyFile) || isSet(s.clientCaFile);
  }

  private async reloadLoop(intervalMs: number): Promise<void> {
    const clock = this.options.clock ?? systemClock;
    for (;;) {
      try {
        await clock.sleep(intervalMs, this.stop.signal);
      } catch {
        return;
      }
      try {
        const inputs = await this.readAsync();
        if (this.stop.signal.aborted) return;
        if (sameInputs(inputs, this.inputs)) continue;
        const material = buildMaterial(this.settings, this.role, inputs);
        // Build the context once here, so that material OpenSSL refuses is caught before the swap.
        createContext(material);
        this.inputs = inputs;
        this.current = material;
        this.onChange(material);
        this.options.onReload?.();
      } catch (error) {
        const failure =
          error instanceof TransportError
            ? error
            : new TransportError(
                TransportErrorCode.TLS_SETTINGS_INVALID,
                `reloading the TLS files failed: ${String(error)}`,
                {
                  cause: error,
                },
              );
        this.options.onReloadError?.(
          new TransportError(failure.code, `${failure.message}; the previous certificates stay in use`, {
            cause: failure,
          }),
        );
      }
    }
  }

  private readSync(): Inputs {
    return this.inputsFrom((attribute, path) => {
      try {
        return readFileSync(path, 'utf8');
      } catch (error) {
        throw unreadable(attribute, path, error);
      }
    });
  }

  private async readAsync(): Promise<Inputs> {
    const s = this.settings;
    const read = async (attribute: string, path: string | undefined): Promise<string | undefined> => {
      if (!isSet(path)) return undefined;
      try {
        return await readFile(path, 'utf8');
      } catch (error) {
        throw unreadable(attribute, path, error);
      }
    };
    const caAttribute = this.role === 'server' ? 'client_ca_file' : 'ca_file';
    const caPath = this.role === 'server' ? s.clientCaFile : s.caFile;
    const [ca, cert, key] = await Promise.all([
      read(caAttribute, caPath),
      read('cert_file', s.certFile),
      read('key_file', s.keyFile),
    ]);
    return {
      ca: ca ?? (this.role === 'client' && isSet(s.caPem) ? s.caPem : undefined),
      cert: cert ?? (isSet(s.certPem) ? s.certPem : undefined),
      key: key ?? this.keyPem,
    };
  }

  private inputsFrom(read: (attribute: string, path: string) => string): Inputs {
    const s = this.settings;
    let ca: string | undefined;
    if (this.role === 'server') ca = isSet(s.clientCaFile) ? read('client_ca_file', s.clientCaFile) : undefined;
    else if (isSet(s.caFile)) ca = read('ca_file', s.caFile);
    else if (isSet(s.caPem)) ca = s.caPem;
    const cert = isSet(s.certFile) ? read('cert_file', s.certFile) : isSet(s.certPem) ? s.certPem : undefined;
    const key = isSet(s.keyFile) ? read('key_file', s.keyFile) : this.keyPem;
    return { ca, cert, key };
  }
}

function sameInputs(a: Inputs, b: Inputs): boolean {
  return a.ca === b.ca && a.cert === b.cert && a.key === b.key;
}

/** Checks the PEM and turns settings and inputs into what `createSecureContext` takes. */
function buildMaterial(settings: TlsSettings & ServerTlsSettings, role: Role, inputs: Inputs): Material {
  const caWhere =
    role === 'server'
      ? `client_ca_file ${JSON.stringify(settings.clientCaFile)}`
      : isSet(settings.caFile)
        ? `ca_file ${JSON.stringify(settings.caFile)}`
        : 'ca_pem';
  const certWhere = isSet(settings.certFile) ? `cert_file ${JSON.stringify(settings.certFile)}` : 'cert_pem';
  const keyWhere = isSet(settings.keyFile) ? `key_file ${JSON.stringify(settings.keyFile)}` : 'key_pem';

  let ca: string[] | undefined;
  if (inputs.ca !== undefined) {
    ca = parseCertificates(inputs.ca, caWhere).map((certificate) => certificate.toString());
  }
  if (role === 'client' && (ca === undefined || settings.includeSystemCaCertsPool === true)) {
    // Go verifies against the system roots when no CA is configured, and adds them to the CA
    // with include_system_ca_certs_pool; Node's own default is its bundled roots. Use both.
    ca = dedupe([...tls.getCACertificates('default'), ...tls.getCACertificates('system'), ...(ca ?? [])]);
  }

  if (inputs.cert !== undefined && inputs.key !== undefined) {
    const chain = parseCertificates(inputs.cert, certWhere);
    const key = parseKey(inputs.key, keyWhere);
    const leaf = chain[0] as X509Certificate;
    if (!leaf.checkPrivateKey(key)) {
      throw new TransportError(
        TransportErrorCode.TLS_KEY_MISMATCH,
        `tls ${keyWhere} does not belong to the certificate in ${certWhere} (${leaf.subject.replaceAll('\n', ', ')}); use the key the certificate was issued for`,
      );
    }
  }

  const minVersion = TLS_VERSIONS.get(settings.minVersion ?? '') ?? DEFAULT_MIN_VERSION;
  const maxVersion = TLS_VERSIONS.get(settings.maxVersion ?? '') ?? DEFAULT_MAX_VERSION;
  return {
    ca,
    cert: inputs.cert,
    key: inputs.key,
    minVersion,
    maxVersion,
    ciphers: cipherList(settings, minVersion),
    ecdhCurve: settings.curvePreferences?.length
      ? settings.curvePreferences.map((name) => CURVES.get(name) ?? name).join(':')
      : undefined,
  };
}

/** The OpenSSL cipher string: Go's choice for TLS ≤ 1.2, all of TLS 1.3, the security level TLS < 1.2 needs. */
function cipherList(settings: TlsSettings, minVersion: tls.SecureVersion): string | undefined {
  const legacy = VERSION_ORDER.indexOf(minVersion) < VERSION_ORDER.indexOf('TLSv1.2');
  const suites = settings.cipherSuites ?? [];
  if (suites.length === 0) return legacy ? `${tls.DEFAULT_CIPHERS}:@SECLEVEL=0` : undefined;
  const names: string[] = [];
  for (const suite of suites) {
    const name = GO_CIPHER_SUITES.has(suite) ? GO_CIPHER_SUITES.get(suite) : GO_INSECURE_CIPHER_SUITES.get(suite);
    if (typeof name === 'string') names.push(name);
  }
  return [...names, TLS13_SUITES, ...(legacy ? ['@SECLEVEL=0'] : [])].join(':');
}

function contextOptions(material: Material): tls.SecureContextOptions {
  const options: tls.SecureContextOptions = { minVersion: material.minVersion, maxVersion: material.maxVersion };
  if (material.ca !== undefined) options.ca = [...material.ca];
  if (material.cert !== undefined) options.cert = material.cert;
  if (material.key !== undefined) options.key = material.key;
  if (material.ciphers !== undefined) options.ciphers = material.ciphers;
  if (material.ecdhCurve !== undefined) options.ecdhCurve = material.ecdhCurve;
  return options;
}

function createContext(material: Material): tls.SecureContext {
  try {
    return tls.createSecureContext(contextOptions(material));
  } catch (error) {
    throw new TransportError(
      TransportErrorCode.TLS_SETTINGS_INVALID,
      `OpenSSL refused the TLS settings: ${error instanceof Error ? error.message : String(error)}; check cipher_suites, curve_preferences and the versions`,
      { cause: error },
    );
  }
}

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g;

function parseCertificates(pem: string, where: string): X509Certificate[] {
  const blocks = pem.match(PEM_CERTIFICATE) ?? [];
  if (blocks.length === 0) {
    throw new TransportError(
      TransportErrorCode.TLS_PEM_INVALID,
      `tls ${where} holds no PEM certificate (no "-----BEGIN CERTIFICATE-----" block); give a PEM-encoded certificate`,
    );
  }
  return blocks.map((block, i) => {
    try {
      return new X509Certificate(block);
    } catch (error) {
      throw new TransportError(
        TransportErrorCode.TLS_PEM_INVALID,
        `tls ${where}: certificate ${i + 1} of ${blocks.length} does not parse (${describe(error)}); give a valid PEM-encoded certificate`,
        { cause: error },
      );
    }
  });
}

function parseKey(pem: string, where: string): KeyObject {
  try {
    return createPrivateKey({ key: pem, format: 'pem' });
  } catch (error) {
    throw new TransportError(
      TransportErrorCode.TLS_PEM_INVALID,
      `tls ${where} is not a usable PEM private key (${describe(error)}); give an unencrypted PEM key (PKCS#8, PKCS#1 or SEC1)`,
      { cause: error },
    );
  }
}

function unreadable(attribute: string, path: string, error: unknown): TransportError {
  return new TransportError(
    TransportErrorCode.TLS_FILE_UNREADABLE,
    `cannot read tls ${attribute} ${JSON.stringify(path)} (${describe(error)}); check the path and its permissions`,
    { cause: error },
  );
}

function throwProblems(problems: readonly TlsProblem[]): void {
  if (problems.length === 0) return;
  throw new TransportError(
    TransportErrorCode.TLS_SETTINGS_INVALID,
    `invalid tls block: ${problems.map((problem) => `${problem.attribute}: ${problem.message}`).join('; ')}`,
  );
}

function parseVersion(
  value: string | undefined,
  attribute: string,
  add: (attribute: string, message: string) => void,
): tls.SecureVersion | undefined {
  if (!isSet(value)) return attribute === 'min_version' ? DEFAULT_MIN_VERSION : DEFAULT_MAX_VERSION;
  const version = TLS_VERSIONS.get(value);
  if (version === undefined) {
    add(
      attribute,
      `invalid TLS ${attribute}: unsupported TLS version: ${JSON.stringify(value)}; use "1.0", "1.1", "1.2" or "1.3"`,
    );
  }
  return version;
}

function isSet(value: string | undefined): value is string {
  return value !== undefined && value !== '';
}

function hasKeyPem(settings: TlsSettings): boolean {
  const { keyPem } = settings;
  return typeof keyPem === 'function' || isSet(keyPem);
}

function dedupe(values: readonly string[]): string[] {
  return [...new Set(values)];
}

function describe(error: unknown): string {
  const code = errorCode(error);
  const message = error instanceof Error ? error.message : String(error);
  return code === undefined || message.includes(code) ? message : `${message}, ${code}`;
}
