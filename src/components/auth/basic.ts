/**
 * `otelcol.auth.basic` (components.md §6): HTTP Basic authentication, as a client (exporters
 * send `authorization: Basic base64(user:pass)`) and as a server (receivers check incoming
 * `authorization` headers against htpasswd entries).
 *
 * Credentials:
 * - client side: the `client_auth` block when written (`username_file`/`password_file` win
 *   over `username`/`password`), else the top-level `username`/`password`. A `client_auth`
 *   block without a username or without a password source gives the handler no client side
 *   (a warning says so), as it hands upstream no client credentials.
 * - server side: the `htpasswd` block's `file` content, then its `inline` text, then the
 *   top-level pair as a plain-text entry (later entries for the same user win, as upstream
 *   appends the pair to the inline text). Without any of these the handler has no server
 *   side, where upstream fails at start with the same `no credential source provided`. Hash
 *   schemes: see `htpasswd.ts` (bcrypt and the crypt(3) schemes are refused at load).
 *
 * Files are read in `start` and again on every `update`, never at build; a file that cannot
 * be read fails `start` (or the update) with an error naming the path. A trailing newline of
 * a username or password file is not part of the credential.
 *
 * Secrets are never logged, put in errors or exported: the password is a `Secret` until the
 * header is built.
 */

import { readFile } from 'node:fs/promises';

import type { Component, ComponentContext, ComponentDefinition, ComponentExports } from '../../runtime/component.ts';
import { attr, block, body, secret, string, type Infer, type Issue } from '../../syntax/schema.ts';
import type { Secret } from '../../syntax/value.ts';
import {
  handlerCapsule,
  placeholderHandler,
  type ClientAuthenticator,
  type RequestHeaders,
  type ServerAuthenticator,
} from '../config/auth.ts';
import { debugMetricsBlock } from '../config/debug-metrics.ts';
import { LiveHandler } from './handler.ts';
import { parseHtpasswd, plainMatcher, type PasswordMatcher } from './htpasswd.ts';

const NAME = 'otelcol.auth.basic';

const clientAuthSchema = body({
  username: attr('username', string(), { default: '' }),
  usernameFile: attr('username_file', string(), { default: '' }),
  password: attr('password', secret()),
  passwordFile: attr('password_file', string(), { default: '' }),
});

const htpasswdSchema = body(
  {
    file: attr('file', string(), { default: '' }),
    inline: attr('inline', string(), { default: '' }),
  },
  {
    // Inline entries are known now, so refused hash schemes are reported at load time.
    validate: (h) => {
      const parsed = parseHtpasswd(h.inline, 'htpasswd inline');
      return [
        ...parsed.errors.map((message): Issue => ({ message, field: 'inline', code: 'decode/htpasswd' })),
        ...parsed.warnings.map((message): Issue => ({
          message,
          field: 'inline',
          severity: 'warning',
          code: 'decode/htpasswd',
        })),
      ];
    },
  },
);

function isSet(secretValue: Secret | undefined): secretValue is Secret {
  return secretValue !== undefined && secretValue.reveal() !== '';
}

/** The arguments of `otelcol.auth.basic`. */
export const basicArgumentsSchema = body(
  {
    username: attr('username', string(), { default: '' }),
    password: attr('password', secret()),
    clientAuth: block('client_auth', clientAuthSchema),
    htpasswd: block('htpasswd', htpasswdSchema),
    debugMetrics: debugMetricsBlock(),
  },
  {
    validate: (args) => {
      const issues: Issue[] = [];
      if (
        args.clientAuth === undefined &&
        args.htpasswd === undefined &&
        args.username === '' &&
        !isSet(args.password)
      ) {
        issues.push({ message: 'no credential source provided', code: 'decode/no-credentials' });
      } else if (args.username !== '' && !isSet(args.password)) {
        issues.push({ message: 'no password provided', field: 'username', code: 'decode/no-password' });
      }
      const c = args.clientAuth;
      if (c !== undefined && !(hasSource(c.username, c.usernameFile) && (isSet(c.password) || c.passwordFile !== ''))) {
        issues.push({
          severity: 'warning',
          field: 'clientAuth',
          code: 'decode/no-client-credentials',
          message:
            'client_auth sets no username or no password (inline or file): this handler has no client side, so exporters cannot use it',
        });
      }
      return issues;
    },
  },
);
export type BasicArguments = Infer<typeof basicArgumentsSchema>;

function hasSource(inline: string, file: string): boolean {
  return inline !== '' || file !== '';
}

/** Where the client credentials come from, without I/O; `undefined`: no client side. */
function clientSource(
  args: BasicArguments,
): { readonly username: () => Promise<string>; readonly password: () => Promise<string> } | undefined {
  const c = args.clientAuth;
  if (c !== undefined) {
    const password = c.password;
    if (!hasSource(c.username, c.usernameFile) || !(isSet(password) || c.passwordFile !== '')) return undefined;
    return {
      username: () =>
        c.usernameFile === '' ? Promise.resolve(c.username) : readCredential(c.usernameFile, 'username_file'),
      password: () =>
        c.passwordFile === ''
          ? Promise.resolve(password?.reveal() ?? '')
          : readCredential(c.passwordFile, 'password_file'),
    };
  }
  const password = args.password;
  if (!isSet(password)) return undefined;
  return { username: () => Promise.resolve(args.username), password: () => Promise.resolve(password.reveal()) };
}

function hasServerSide(args: BasicArguments): boolean {
  return args.htpasswd !== undefined || (args.username !== '' && isSet(args.password));
}

async function readCredential(path: string, what: string): Promise<string> {
  try {
    return (await readFile(path, 'utf8')).replace(/\r?\n$/, '');
  } catch (error) {
    throw new Error(`cannot read ${what} ${JSON.stringify(path)}: ${describeCause(error)}`, { cause: error });
  }
}

function describeCause(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Credentials loaded by `start`/`update`. */
interface Loaded {
  /** The `authorization` header value; `undefined`: no client side. */
  readonly header: string | undefined;
  /** htpasswd users; `undefined`: no server side. */
  readonly users: ReadonlyMap<string, PasswordMatcher> | undefined;
}

async function load(args: BasicArguments, context: ComponentContext): Promise<Loaded> {
  const source = clientSource(args);
  let header: string | undefined;
  if (source !== undefined) {
    const [username, password] = await Promise.all([source.username(), source.password()]);
    header = `Basic ${Buffer.from(`${username}:${password}`, 'utf8').toString('base64')}`;
  }
  let users: Map<string, PasswordMatcher> | undefined;
  if (hasServerSide(args)) {
    users = new Map();
    const h = args.htpasswd;
    const texts: { readonly text: string; readonly origin: string }[] = [];
    if (h !== undefined && h.file !== '')
      texts.push({
        text: await readCredential(h.file, 'htpasswd file'),
        origin: `htpasswd file ${JSON.stringify(h.file)}`,
      });
    if (h !== undefined && h.inline !== '') texts.push({ text: h.inline, origin: 'htpasswd inline' });
    for (const { text, origin } of texts) {
      const parsed = parseHtpasswd(text, origin);
      if (parsed.errors.length > 0) throw new Error(parsed.errors.join('; '));
      for (const warning of parsed.warnings) context.logger.warn(warning);
      for (const [user, matcher] of parsed.users) users.set(user, matcher);
    }
    const password = args.password;
    if (args.username !== '' && isSet(password)) users.set(args.username, plainMatcher(password.reveal()));
  }
  return { header, users };
}

/** Checks an `authorization` header against `users`; `undefined` when it may pass. */
function checkBasic(headers: RequestHeaders, users: ReadonlyMap<string, PasswordMatcher>): string | undefined {
  const raw = headers.authorization;
  const value = typeof raw === 'string' ? raw : raw?.[0];
  if (value === undefined || value === '') return 'no basic auth provided';
  const space = value.indexOf(' ');
  if (space < 0 || value.slice(0, space).toLowerCase() !== 'basic')
    return 'invalid authorization scheme: expected Basic';
  const encoded = value.slice(space + 1).trim();
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(encoded) || encoded.length % 4 !== 0) return 'invalid authorization format';
  const decoded = Buffer.from(encoded, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return 'invalid authorization format';
  const matcher = users.get(decoded.slice(0, colon));
  // An unknown user costs a comparison too, so timing does not tell which users exist.
  const matches = (matcher ?? UNKNOWN_USER)(decoded.slice(colon + 1));
  return matcher !== undefined && matches ? undefined : 'invalid credentials';
}

const UNKNOWN_USER: PasswordMatcher = plainMatcher('\u0000unknown user');

class BasicAuth implements Component<BasicArguments> {
  readonly exports: ComponentExports;
  private readonly context: ComponentContext;
  private args: BasicArguments;
  private loaded: Loaded | undefined;
  private readonly client: ClientAuthenticator;
  private readonly server: ServerAuthenticator;

  constructor(context: ComponentContext, args: BasicArguments) {
    this.context = context;
    this.args = args;
    this.client = {
      requiresTls: true,
      headers: () => {
        const header = this.loaded?.header;
        if (header === undefined) return Promise.reject(new Error(`${context.id} has no client credentials loaded`));
        return { authorization: header };
      },
    };
    this.server = {
      authenticate: (headers) => {
        const users = this.loaded?.users;
        if (users === undefined) return Promise.resolve(`${context.id} has no server credentials loaded`);
        return Promise.resolve(checkBasic(headers, users));
      },
    };
    const handler = new LiveHandler(context.id, {
      client: () => (clientSource(this.args) === undefined ? undefined : this.client),
      server: () => (hasServerSide(this.args) ? this.server : undefined),
    });
    this.exports = { handler: handlerCapsule(handler) };
  }

  async start(): Promise<void> {
    this.loaded = await load(this.args, this.context);
  }

  async update(args: BasicArguments): Promise<void> {
    const loaded = await load(args, this.context);
    this.args = args;
    this.loaded = loaded;
  }

  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}

/** `otelcol.auth.basic`. */
export const basicAuthDefinition: ComponentDefinition<BasicArguments> = {
  name: NAME,
  stability: 'generally-available',
  arguments: basicArgumentsSchema,
  placeholderExports: { handler: placeholderHandler(NAME) },
  build: (context, args) => Promise.resolve(new BasicAuth(context, args)),
};
