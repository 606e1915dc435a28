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

interface CommonTls {
  readonly caFile: string;
  readonly caPem: string;
  readonly certFile: string;
  readonly certPem: string;
  readonly keyFile: string;
  readonly keyPem: unknown;
}

function commonIssues(v: CommonTls): Issue[] {
  const issues: Issue[] = [];
  if (v.caFile !== '' && v.caPem !== '')
    issues.push({ message: 'at most one of ca_pem and ca_file must be configured', field: 'caPem' });
  if (v.certFile !== '' && v.certPem !== '')
    issues.push({ message: 'at most one of cert_pem and cert_file must be configured', field: 'certPem' });
  const hasKeyPem = v.keyPem !== undefined;
  if (v.keyFile !== '' && hasKeyPem)
    issues.push({ message: 'at most one of key_pem and key_file must be configured', field: 'keyPem' });
  const hasCert = v.certFile !== '' || v.certPem !== '';
  const hasKey = v.keyFile !== '' || hasKeyPem;
  if (hasCert && !hasKey) {
    issues.push({
      message: 'exactly one of key_pem or key_file must be configured when a client certificate is configured',
    });
  }
  if (hasKey && !hasCert) {
    issues.push({ message: 'exactly one of cert_pem or cert_file must be configured when a client key is configured' });
  }
  return issues;
}

/** A client's `tls` block (plus `insecure`, `insecure_skip_verify`, `server_name`). */
export const clientTlsSchema = body(
  {
    ...commonFields,
    insecure: attr('insecure', bool(), { default: false }),
    insecureSkipVerify: attr('insecure_skip_verify', bool(), { default: false }),
    serverName: attr('server_name', string(), { default: '' }),
  },
  { validate: commonIssues },
);
export type ClientTlsArguments = Infer<typeof clientTlsSchema>;

/** A server's `tls` block (plus `client_ca_file`, which makes client certificates mandatory). */
export const serverTlsSchema = body(
  {
    ...commonFields,
    clientCaFile: attr('client_ca_file', string(), { default: '' }),
  },
  {
    validate: (v) => {
      const issues = commonIssues(v);
      if (v.certFile === '' && v.certPem === '') {
        issues.push({
          message: 'a server tls block needs a certificate: set cert_file or cert_pem (and key_file or key_pem)',
        });
      }
      return issues;
    },
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
