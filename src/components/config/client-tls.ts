/**
 * A client `tls` block as `node:tls` options for the gRPC client: cleartext HTTP/2 (h2c)
 * when `insecure = true`, TLS otherwise, verified against the given CA (and the system's
 * when `include_system_ca_certs_pool` is set) unless `insecure_skip_verify`. Files are read
 * when the options are made, so a missing file is an error that names it.
 */

import { readFile } from 'node:fs/promises';
import tls from 'node:tls';

import type { GrpcClientTlsOptions } from '../../transport/grpc-client.ts';
import { normalizeTlsVersion, type ClientTlsArguments } from './tls.ts';

type TlsVersion = 'TLSv1' | 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3';

/** `"1.2"` → `TLSv1.2`; `""` → `fallback`. */
export function nodeTlsVersion(v: string, fallback: TlsVersion | undefined): TlsVersion | undefined {
  switch (normalizeTlsVersion(v)) {
    case '1.0':
      return 'TLSv1';
    case '1.1':
      return 'TLSv1.1';
    case '1.2':
      return 'TLSv1.2';
    case '1.3':
      return 'TLSv1.3';
    default:
      return fallback;
  }
}

/** Reads a PEM file for a `tls` attribute, with an error that names the attribute and path. */
export async function readPemFile(path: string, attribute: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : String(error);
    throw new Error(`tls: cannot read ${attribute} "${path}": ${reason}`, { cause: error });
  }
}

/** The gRPC client's TLS options, or `undefined` for cleartext. */
export async function clientTlsOptions(args: ClientTlsArguments): Promise<GrpcClientTlsOptions | undefined> {
  if (args.insecure) return undefined;
  const ca =
    args.caPem !== '' ? args.caPem : args.caFile !== '' ? await readPemFile(args.caFile, 'ca_file') : undefined;
  const cert =
    args.certPem !== ''
      ? args.certPem
      : args.certFile !== ''
        ? await readPemFile(args.certFile, 'cert_file')
        : undefined;
  const key =
    args.keyPem !== undefined
      ? args.keyPem.reveal()
      : args.keyFile !== ''
        ? await readPemFile(args.keyFile, 'key_file')
        : undefined;
  const cas = ca === undefined ? undefined : args.includeSystemCaCertsPool ? [...tls.rootCertificates, ca] : [ca];
  const minVersion = nodeTlsVersion(args.minVersion, 'TLSv1.2');
  return {
    ...(cas === undefined ? {} : { ca: cas }),
    ...(cert === undefined ? {} : { cert }),
    ...(key === undefined ? {} : { key }),
    ...(args.serverName === '' ? {} : { servername: args.serverName }),
    ...(minVersion === undefined ? {} : { minVersion }),
    rejectUnauthorized: !args.insecureSkipVerify,
  };
}
