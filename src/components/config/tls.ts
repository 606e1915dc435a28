/**
 * The `tls` blocks of clients and servers (components.md §0.3), with Alloy's defaults and
 * validation messages. The transport layer turns the decoded settings into `node:tls`
 * options.
 */

import {
  attr,
  block,
  body,
  bool,
  duration,
  list,
  secret,
  string,
  type BlockField,
  type Infer,
  type Issue,
} from '../../syntax/schema.ts';
import type { Secret } from '../../syntax/value.ts';
import { validateTlsSettings, type ClientTlsSettings, type ServerTlsSettings } from '../../transport/tls.ts';

/** TLS versions as the block spells them; the docs' `"TLS 1.2"` display form is accepted too. */
export const TLS_VERSIONS: readonly string[] = ['1.0', '1.1', '1.2', '1.3'];

function versionCheck(name: string): (v: string) => string | undefined {
  return (v) => {
    if (v === '' || TLS_VERSIONS.includes(normalizeTlsVersion(v))) return undefined;
    return `invalid TLS ${name}: unsupported TLS version: "${v}"; use "1.0", "1.1", "1.2" or "1.3"`;
  };
}

/** `"TLS 1.2"` → `"1.2"`; other text unchanged. */
export function normalizeTlsVersion(v: string): string {
  const m = /^TLS ?(1\.[0-3])$/i.exec(v.trim());
  return m?.[1] ?? v;
}

const tpmSchema = body({
  enabled: attr('enabled', bool(), { default: false }),
  path: attr('path', string(), { default: '' }),
  ownerAuth: attr('owner_auth', string(), { default: '' }),
  auth: attr('auth', string(), { default: '' }),
});

const commonFields = {
  caFile: attr('ca_file', string(), { default: '' }),
  caPem: attr('ca_pem', string(), { default: '' }),
  certFile: attr('cert_file', string(), { default: '' }),
  certPem: attr('cert_pem', string(), { default: '' }),
  keyFile: attr('key_file', string(), { default: '' }),
  keyPem: attr('key_pem', secret()),
  minVersion: attr('min_version', string(), { default: '', check: versionCheck('min_version') }),
  maxVersion: attr('max_version', string(), { default: '', check: versionCheck('max_version') }),
  reloadIntervalMs: attr('reload_interval', duration(), {
    default: 0,
    check: (v) => (v < 0 ? 'reload_interval must not be negative' : undefined),
  }),
  cipherSuites: attr('cipher_suites', list(string()), { default: [] }),
  includeInsecureCipherSuites: attr('include_insecure_cipher_suites', bool(), { default: false }),
  includeSystemCaCertsPool: attr('include_system_ca_certs_pool', bool(), { default: false }),
  curvePreferences: attr('curve_preferences', list(string()), { default: [] }),
  tpm: block('tpm', tpmSchema, {
    check: (v) =>
      v.enabled ? 'tpm: TPM-backed keys are not supported by otel-lb; use key_file or key_pem' : undefined,
  }),
};

/** A client's `tls` block (plus `insecure`, `insecure_skip_verify`, `server_name`). */
export const clientTlsSchema = body(
  {
    ...commonFields,
    insecure: attr('insecure', bool(), { default: false }),
    insecureSkipVerify: attr('insecure_skip_verify', bool(), { default: false }),
    serverName: attr('server_name', string(), { default: '' }),
  },
  { validate: (v) => tlsIssues(clientTlsSettings(v), 'client') },
);
export type ClientTlsArguments = Infer<typeof clientTlsSchema>;

/** A server's `tls` block (plus `client_ca_file`, which makes client certificates mandatory). */
export const serverTlsSchema = body(
  {
    ...commonFields,
    clientCaFile: attr('client_ca_file', string(), { default: '' }),
  },
  {
    validate: (v) => tlsIssues(serverTlsSettings(v), 'server'),
  },
);
export type ServerTlsArguments = Infer<typeof serverTlsSchema>;

/** A client's `tls` block; omitted means the defaults: TLS on, verified against the system CAs. */
export function clientTlsBlock(): BlockField<ClientTlsArguments> {
  return block('tls', clientTlsSchema, { omitted: 'defaults' });
}

/** A server's `tls` block; omitted means cleartext. */
export function serverTlsBlock(): BlockField<ServerTlsArguments | undefined> {
  return block('tls', serverTlsSchema);
}

// ---------------------------------------------------------------------------------------------
// To the transport's settings

/** The fields both `tls` blocks decode to (written out: the schemas' own types depend on these functions). */
interface TlsFields {
  readonly caFile: string;
  readonly caPem: string;
  readonly certFile: string;
  readonly certPem: string;
  readonly keyFile: string;
  readonly keyPem: Secret | undefined;
  readonly minVersion: string;
  readonly maxVersion: string;
  readonly cipherSuites: readonly string[];
  readonly includeInsecureCipherSuites: boolean;
  readonly includeSystemCaCertsPool: boolean;
  readonly curvePreferences: readonly string[];
  readonly reloadIntervalMs: number;
}

function common(args: TlsFields): ClientTlsSettings {
  const keyPem = args.keyPem;
  return {
    caFile: args.caFile,
    caPem: args.caPem,
    certFile: args.certFile,
    certPem: args.certPem,
    keyFile: args.keyFile,
    ...(keyPem === undefined ? {} : { keyPem: () => keyPem.reveal() }),
    minVersion: normalizeTlsVersion(args.minVersion),
    maxVersion: normalizeTlsVersion(args.maxVersion),
    cipherSuites: args.cipherSuites,
    includeInsecureCipherSuites: args.includeInsecureCipherSuites,
    includeSystemCaCertsPool: args.includeSystemCaCertsPool,
    curvePreferences: args.curvePreferences,
    reloadIntervalMs: args.reloadIntervalMs,
  };
}

/** A client `tls` block as the transport's settings (the key PEM revealed only when loaded). */
export function clientTlsSettings(
  args: TlsFields & { readonly insecure: boolean; readonly insecureSkipVerify: boolean; readonly serverName: string },
): ClientTlsSettings {
  return {
    ...common(args),
    insecure: args.insecure,
    insecureSkipVerify: args.insecureSkipVerify,
    serverName: args.serverName,
  };
}

/** A server `tls` block as the transport's settings. */
export function serverTlsSettings(args: TlsFields & { readonly clientCaFile: string }): ServerTlsSettings {
  return { ...common(args), clientCaFile: args.clientCaFile };
}

const FIELD_OF_ATTRIBUTE: Readonly<Record<string, string>> = {
  ca_pem: 'caPem',
  ca_file: 'caFile',
  cert_pem: 'certPem',
  cert_file: 'certFile',
  key_pem: 'keyPem',
  key_file: 'keyFile',
  min_version: 'minVersion',
  max_version: 'maxVersion',
  cipher_suites: 'cipherSuites',
  curve_preferences: 'curvePreferences',
};

/** The transport's checks of a `tls` block (cipher suites, curves, versions), as schema issues. */
export function tlsIssues(settings: ClientTlsSettings | ServerTlsSettings, role: 'client' | 'server'): Issue[] {
  return validateTlsSettings(settings, role).map((p) => {
    const field = FIELD_OF_ATTRIBUTE[p.attribute];
    return field === undefined ? { message: p.message } : { message: p.message, field };
  });
}
