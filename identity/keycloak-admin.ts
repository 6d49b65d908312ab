import { z } from 'zod';
import type { Config } from '../config/env.js';
import { highestRole, ROLES, type Role } from '../domain/rbac.js';

/**
 * Keycloak's admin REST API, as SafeShipper's company ADMINs need it: the users of *one* company.
 *
 * Every operation takes the caller's company and touches only users whose `company_id` attribute
 * is that company; anyone else (another company's user, a user of no company, a service account)
 * is "not found", exactly like an id that does not exist, so ids of other companies leak nothing.
 *
 * The API authenticates as its own confidential client (`safeshipper-admin-api`, client
 * credentials) whose service account holds `realm-management` manage-users, view-users,
 * query-users and view-realm (read-only; Keycloak requires it to list a role's members, which is
 * how a page of users gets its roles in one query per role instead of one call per user). Role
 * ids for changes are still taken from the user's own role mappings. The token is cached until
 * shortly before it expires. Calls in flight are bounded per process (`maxConcurrentCalls`).
 *
 * Roles: a user's role is the highest SafeShipper realm role *directly* assigned (the admin API
 * shows direct assignments; the composites ADMIN ⊃ MANAGER ⊃ … expand only in tokens).
 * Changing it removes the other SafeShipper roles; other realm roles (default roles,
 * PLATFORM_STAFF) are never touched.
 *
 * Errors: {@link KeycloakUserNotFound} (404), {@link KeycloakUserConflict} (username or email
 * taken, 409), {@link KeycloakUserRejected} (Keycloak refused the input: password policy, user
 * profile validation; the API answers 422), {@link KeycloakUpstreamError} (anything else,
 * unreachable, timed out, misconfigured; the API answers 502).
 */

export interface KeycloakAdminOptions {
  /** The realm URL, as `OIDC_ISSUER`: `https://id.example.com/realms/safeshipper`. */
  issuer: string;
  clientId: string;
  clientSecret: string;
  /** Per request to Keycloak (token and admin calls). Default 10 s. */
  timeoutMs?: number;
  /** Admin calls in flight at once from this process; more wait their turn. Default 8. */
  maxConcurrentCalls?: number;
  /** Milliseconds since the epoch, for the token cache. Default `Date.now`. */
  now?: () => number;
}

export interface CompanyUser {
  id: string;
  username: string;
  email: string | undefined;
  firstName: string | undefined;
  lastName: string | undefined;
  enabled: boolean;
  emailVerified: boolean;
  companyId: string;
  /** Highest SafeShipper realm role directly assigned; undefined when none is. */
  role: Role | undefined;
  /** Keycloak required actions pending at next login, e.g. UPDATE_PASSWORD. */
  requiredActions: string[];
  createdAt: Date | undefined;
}

export interface ListUsersOptions {
  /** Offset into the company's users, ordered by username. Default 0. */
  first?: number;
  /** Page size, 1..100. Default 20. */
  max?: number;
  /** Case-insensitive substring of username, email, first or last name. */
  search?: string;
}

export interface UserPage {
  users: CompanyUser[];
  /** How many of the company's users match (for paging). */
  total: number;
}

export type RequiredAction = 'UPDATE_PASSWORD' | 'VERIFY_EMAIL' | 'UPDATE_PROFILE' | 'CONFIGURE_TOTP';

export interface NewCompanyUser {
  username: string;
  email: string;
  firstName: string;
  lastName: string;
  role: Role;
  /** An initial password; temporary (the default) means it must be changed at first login. */
  password?: { value: string; temporary?: boolean };
  /**
   * Actions Keycloak makes the user perform at first login (no e-mail is sent: this stack has no
   * SMTP). Default: UPDATE_PASSWORD, or none when a permanent password is given.
   */
  requiredActions?: readonly RequiredAction[];
}

/** For the audit log: the role before (undefined: none) and after. */
export interface RoleChange {
  userId: string;
  before: Role | undefined;
  after: Role;
}

/** For the audit log: whether the user was enabled before (false: nothing changed). */
export interface EnabledChange {
  userId: string;
  wasEnabled: boolean;
}

export interface KeycloakAdmin {
  listUsers(companyId: string, options?: ListUsersOptions): Promise<UserPage>;
  getUser(companyId: string, userId: string): Promise<CompanyUser>;
  /** Returns the new user's id. */
  createUser(companyId: string, user: NewCompanyUser): Promise<string>;
  changeRole(companyId: string, userId: string, role: Role): Promise<RoleChange>;
  /** Disables the user (the record is kept) and ends their Keycloak sessions. */
  disableUser(companyId: string, userId: string): Promise<EnabledChange>;
  enableUser(companyId: string, userId: string): Promise<EnabledChange>;
}

export class KeycloakAdminError extends Error {
  override name = 'KeycloakAdminError';
}

/** No such user in this company (including: a user of another company, or a service account). */
export class KeycloakUserNotFound extends KeycloakAdminError {
  override name = 'KeycloakUserNotFound';
  constructor(readonly userId: string) {
    super(`No user ${userId} in this company`);
  }
}

/** The username or e-mail address is already taken (in the whole realm, not only the company). */
export class KeycloakUserConflict extends KeycloakAdminError {
  override name = 'KeycloakUserConflict';
  constructor(
    message: string,
    readonly field: 'username' | 'email' | undefined,
  ) {
    super(message);
  }
}

/** Keycloak refused the input (password policy, user profile validation): the caller's to fix. */
export class KeycloakUserRejected extends KeycloakAdminError {
  override name = 'KeycloakUserRejected';
  constructor(
    message: string,
    readonly errors: ReadonlyArray<{ field: string | undefined; message: string }>,
  ) {
    super(message);
  }
}

/** Keycloak failed, was unreachable, or refused us (e.g. the service account lacks a role). */
export class KeycloakUpstreamError extends KeycloakAdminError {
  override name = 'KeycloakUpstreamError';
  constructor(
    message: string,
    /** Keycloak's HTTP status; undefined when no answer came (network error, timeout). */
    readonly status: number | undefined,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** Keycloak names a client's service account user `service-account-<clientId>`. */
const SERVICE_ACCOUNT_PREFIX = 'service-account-';
/** Refresh the cached token this long before it expires (at most half its lifetime). */
const REFRESH_MARGIN_MS = 30_000;
const SCAN_PAGE = 100;
const ROLE_MEMBERS_PAGE = 1000;

const nullish = <T extends z.ZodType>(schema: T) => schema.nullish().transform((value) => value ?? undefined);

const tokenSchema = z.object({ access_token: z.string().min(1), expires_in: z.number().positive() });
const userSchema = z.object({
  id: z.string(),
  username: z.string(),
  email: nullish(z.string()),
  firstName: nullish(z.string()),
  lastName: nullish(z.string()),
  enabled: nullish(z.boolean()),
  emailVerified: nullish(z.boolean()),
  attributes: nullish(z.record(z.string(), z.array(z.string()))),
  requiredActions: nullish(z.array(z.string())),
  createdTimestamp: nullish(z.number()),
});
type UserRepresentation = z.infer<typeof userSchema>;
const roleListSchema = z.array(z.object({ id: z.string(), name: z.string() }));
type RoleRepresentation = z.infer<typeof roleListSchema>[number];
const errorBodySchema = z.object({
  error: z.string().optional(),
  error_description: z.string().optional(),
  errorMessage: z.string().optional(),
  field: z.string().optional(),
  errors: z.array(z.object({ field: z.string().optional(), errorMessage: z.string() })).optional(),
});

/** The admin API's base URL of the issuer's realm: `…/realms/x` → `…/admin/realms/x`. */
export function adminBaseUrl(issuer: string): string {
  const match = /^(.*)\/realms\/([^/]+)\/?$/.exec(issuer);
  if (!match) throw new TypeError(`not a Keycloak realm URL: ${issuer}`);
  return `${match[1]}/admin/realms/${match[2]}`;
}

export function keycloakAdminFromConfig(config: Pick<Config, 'OIDC_ISSUER' | 'KEYCLOAK_ADMIN_CLIENT_ID' | 'KEYCLOAK_ADMIN_CLIENT_SECRET'>): KeycloakAdmin {
  if (!config.KEYCLOAK_ADMIN_CLIENT_SECRET) throw new KeycloakAdminError('KEYCLOAK_ADMIN_CLIENT_SECRET is required to manage users through Keycloak');
  return createKeycloakAdmin({ issuer: config.OIDC_ISSUER, clientId: config.KEYCLOAK_ADMIN_CLIENT_ID, clientSecret: config.KEYCLOAK_ADMIN_CLIENT_SECRET });
}

export function createKeycloakAdmin(options: KeycloakAdminOptions): KeycloakAdmin {
  const adminBase = adminBaseUrl(options.issuer);
  const tokenUrl = `${options.issuer.replace(/\/$/, '')}/protocol/openid-connect/token`;
  const timeoutMs = options.timeoutMs ?? 10_000;
  const now = options.now ?? Date.now;
  const slots = semaphore(options.maxConcurrentCalls ?? 8);

  // ---- transport -------------------------------------------------------------------------

  async function send(url: string | URL, init: RequestInit, what: string): Promise<Response> {
    try {
      return await fetch(url, { ...init, signal: AbortSignal.timeout(timeoutMs) });
    } catch (error) {
      const reason = error instanceof Error && error.name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : String(error);
      throw new KeycloakUpstreamError(`Keycloak could not be reached (${what}): ${reason}`, undefined, { cause: error });
    }
  }

  async function readJson<T extends z.ZodType>(response: Response, schema: T, what: string): Promise<z.infer<T>> {
    let body: unknown;
    try {
      body = await response.json();
    } catch (error) {
      throw new KeycloakUpstreamError(`Keycloak's answer could not be read (${what})`, response.status, { cause: error });
    }
    const parsed = schema.safeParse(body);
    if (!parsed.success) throw new KeycloakUpstreamError(`Keycloak's answer has an unexpected shape (${what})`, response.status, { cause: parsed.error });
    return parsed.data;
  }

  // ---- service account token, cached until shortly before expiry -------------------------

  let cached: { value: string; refreshAt: number } | undefined;
  let pending: Promise<string> | undefined;

  async function fetchToken(): Promise<string> {
    const requestedAt = now();
    const body = new URLSearchParams({ grant_type: 'client_credentials', client_id: options.clientId, client_secret: options.clientSecret });
    const response = await send(tokenUrl, { method: 'POST', body }, 'service account token');
    if (!response.ok) {
      const { message } = await errorDetails(response);
      throw new KeycloakUpstreamError(`Keycloak refused the service account token for client ${options.clientId}: ${response.status}${message ? ` ${message}` : ''}`, response.status);
    }
    const token = await readJson(response, tokenSchema, 'service account token');
    const lifetimeMs = token.expires_in * 1000;
    cached = { value: token.access_token, refreshAt: requestedAt + lifetimeMs - Math.min(REFRESH_MARGIN_MS, lifetimeMs / 2) };
    return token.access_token;
  }

  function accessToken(): Promise<string> {
    if (cached && now() < cached.refreshAt) return Promise.resolve(cached.value);
    // One request for every caller waiting on a fresh token.
    pending ??= fetchToken().finally(() => {
      pending = undefined;
    });
    return pending;
  }

  /** One admin API call; a 401 (token revoked, Keycloak restarted) drops the token and retries once. */
  async function call(method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, request: { query?: Record<string, string | number>; body?: unknown } = {}): Promise<Response> {
    const url = new URL(`${adminBase}${path}`);
    for (const [key, value] of Object.entries(request.query ?? {})) url.searchParams.set(key, String(value));
    for (let attempt = 1; ; attempt += 1) {
      const bearer = await accessToken();
      const headers: Record<string, string> = { authorization: `Bearer ${bearer}`, accept: 'application/json' };
      if (request.body !== undefined) headers['content-type'] = 'application/json';
      // However many requests ask at once, Keycloak sees a bounded number from us (a slow Keycloak is not flooded).
      const response = await slots.run(() => send(url, { method, headers, ...(request.body !== undefined ? { body: JSON.stringify(request.body) } : {}) }, `${method} ${path}`));
      if (response.status !== 401 || attempt > 1) return response;
      await response.body?.cancel();
      if (cached?.value === bearer) cached = undefined;
    }
  }

  async function errorDetails(response: Response): Promise<{ message: string | undefined; errors: Array<{ field: string | undefined; message: string }> }> {
    const text = await response.text().catch(() => '');
    let parsed: z.infer<typeof errorBodySchema> | undefined;
    try {
      const result = errorBodySchema.safeParse(JSON.parse(text));
      parsed = result.success ? result.data : undefined;
    } catch {
      parsed = undefined;
    }
    if (!parsed) return { message: text.slice(0, 200) || undefined, errors: [] };
    const errors = parsed.errors
      ? parsed.errors.map((error) => ({ field: error.field, message: error.errorMessage }))
      : parsed.errorMessage || parsed.error_description
        ? [{ field: parsed.field, message: (parsed.errorMessage ?? parsed.error_description)! }]
        : [];
    const message = errors.length > 0 ? errors.map((error) => (error.field ? `${error.field}: ${error.message}` : error.message)).join('; ') : parsed.error;
    return { message, errors };
  }

  /**
   * The typed error for an unsuccessful answer. `userId`: a 404 means that user is gone;
   * `input`: a 400 or 409 is about what the caller sent.
   */
  async function failure(response: Response, what: string, context: { userId?: string; input?: boolean } = {}): Promise<KeycloakAdminError> {
    const { message, errors } = await errorDetails(response);
    // (A 404 about a role, not the user, is Keycloak's inconsistency: upstream.)
    if (response.status === 404 && context.userId !== undefined && !/role/i.test(message ?? '')) return new KeycloakUserNotFound(context.userId);
    if (response.status === 409 && context.input) {
      const field = /username/i.test(message ?? '') ? 'username' : /e-?mail/i.test(message ?? '') ? 'email' : undefined;
      return new KeycloakUserConflict(message ?? 'The user conflicts with an existing one', field);
    }
    if (response.status === 400 && context.input) return new KeycloakUserRejected(message ?? 'Keycloak refused the user', errors);
    return new KeycloakUpstreamError(`${what}: Keycloak answered ${response.status}${message ? ` (${message})` : ''}`, response.status);
  }

  async function expectOk(response: Response, what: string, context: { userId?: string; input?: boolean } = {}): Promise<void> {
    if (!response.ok) throw await failure(response, what, context);
    await response.body?.cancel();
  }

  // ---- users and roles -------------------------------------------------------------------

  function companyOf(user: UserRepresentation): string | undefined {
    const values = user.attributes?.company_id ?? [];
    return values.length === 1 ? values[0]!.toLowerCase() : undefined;
  }

  const belongsTo = (user: UserRepresentation, companyId: string) => companyOf(user) === companyId && !user.username.startsWith(SERVICE_ACCOUNT_PREFIX);

  function toCompanyUser(user: UserRepresentation, companyId: string, role: Role | undefined): CompanyUser {
    return {
      id: user.id,
      username: user.username,
      email: user.email,
      firstName: user.firstName,
      lastName: user.lastName,
      enabled: user.enabled ?? false,
      emailVerified: user.emailVerified ?? false,
      companyId,
      role,
      requiredActions: user.requiredActions ?? [],
      createdAt: user.createdTimestamp === undefined ? undefined : new Date(user.createdTimestamp),
    };
  }

  const userPath = (userId: string) => `/users/${userId}`;

  /** The user's representation, if it exists and belongs to the company; otherwise not found. */
  async function companyUser(companyId: string, userId: string): Promise<UserRepresentation> {
    if (!UUID.test(userId)) throw new KeycloakUserNotFound(userId);
    const what = 'read user';
    const response = await call('GET', userPath(userId));
    if (!response.ok) throw await failure(response, what, { userId });
    const user = await readJson(response, userSchema, what);
    if (!belongsTo(user, companyId)) throw new KeycloakUserNotFound(userId);
    return user;
  }

  async function directRealmRoles(userId: string): Promise<RoleRepresentation[]> {
    const what = 'read role mappings';
    const response = await call('GET', `${userPath(userId)}/role-mappings/realm`);
    if (!response.ok) throw await failure(response, what, { userId });
    return readJson(response, roleListSchema, what);
  }

  const roleFrom = (roles: readonly RoleRepresentation[]) => highestRole(roles.map((role) => role.name));

  /** The ids of every user the realm role is directly assigned to (realm-wide: the endpoint has no attribute filter). */
  async function directMembers(role: Role): Promise<Set<string>> {
    const what = `read members of ${role}`;
    const members = new Set<string>();
    for (let first = 0; ; first += ROLE_MEMBERS_PAGE) {
      const response = await call('GET', `/roles/${role}/users`, { query: { first, max: ROLE_MEMBERS_PAGE, briefRepresentation: 'true' } });
      if (!response.ok) throw await failure(response, what);
      const page = await readJson(response, z.array(z.object({ id: z.string() })), what);
      for (const user of page) members.add(user.id);
      if (page.length < ROLE_MEMBERS_PAGE) return members;
    }
  }
  const isSafeShipperRole = (name: string): name is Role => (ROLES as readonly string[]).includes(name);

  /** Makes `role` the user's only directly assigned SafeShipper role; returns the role before. */
  async function replaceRole(userId: string, role: Role): Promise<Role | undefined> {
    const direct = await directRealmRoles(userId);
    const before = roleFrom(direct);
    const stale = direct.filter((assigned) => isSafeShipperRole(assigned.name) && assigned.name !== role);
    const alreadyAssigned = direct.some((assigned) => assigned.name === role);
    // Keycloak maps roles by id + name; without view-realm the ids come from the user's mappings
    // (direct ones, and "available": the realm roles not directly assigned).
    let target: RoleRepresentation | undefined;
    if (!alreadyAssigned) {
      const what = 'read available roles';
      const response = await call('GET', `${userPath(userId)}/role-mappings/realm/available`);
      if (!response.ok) throw await failure(response, what, { userId });
      target = (await readJson(response, roleListSchema, what)).find((available) => available.name === role);
      if (!target) throw new KeycloakUpstreamError(`realm role ${role} is missing or may not be mapped by the service account`, undefined);
    }
    // Removal first: if the second step fails the user is left with less, never more.
    if (stale.length > 0) {
      await expectOk(await call('DELETE', `${userPath(userId)}/role-mappings/realm`, { body: stale.map(({ id, name }) => ({ id, name })) }), 'remove roles', { userId });
    }
    if (target) {
      await expectOk(await call('POST', `${userPath(userId)}/role-mappings/realm`, { body: [{ id: target.id, name: target.name }] }), 'assign role', { userId });
    }
    return before;
  }

  async function setEnabled(companyId: string, userId: string, enabled: boolean): Promise<EnabledChange> {
    const user = await companyUser(assertCompany(companyId), userId);
    const wasEnabled = user.enabled ?? false;
    // Keycloak keeps the fields a PUT leaves out (attributes included).
    await expectOk(await call('PUT', userPath(userId), { body: { enabled } }), enabled ? 'enable user' : 'disable user', { userId });
    // A disabled user can neither log in nor refresh; ending the sessions also clears SSO cookies.
    if (!enabled) await expectOk(await call('POST', `${userPath(userId)}/logout`), 'end sessions', { userId });
    return { userId, wasEnabled };
  }

  return {
    async listUsers(companyId, { first = 0, max = 20, search } = {}) {
      const company = assertCompany(companyId);
      if (!Number.isInteger(first) || first < 0) throw new RangeError('first must be an integer >= 0');
      if (!Number.isInteger(max) || max < 1 || max > 100) throw new RangeError('max must be an integer in 1..100');
      // Keycloak ignores `q` when `search` is given, so the company's users are read whole (pages
      // of 100, exact attribute match) and filtered here; that also keeps service accounts out
      // of the count and the pages stable.
      const found = new Map<string, UserRepresentation>();
      for (let offset = 0; ; offset += SCAN_PAGE) {
        const what = 'list users';
        const response = await call('GET', '/users', { query: { q: `company_id:${company}`, first: offset, max: SCAN_PAGE, briefRepresentation: 'false' } });
        if (!response.ok) throw await failure(response, what);
        const page = await readJson(response, z.array(userSchema), what);
        const before = found.size;
        for (const user of page) found.set(user.id, user);
        if (page.length < SCAN_PAGE || found.size === before) break;
      }
      const needle = search?.trim().toLowerCase();
      const matches = [...found.values()]
        .filter((user) => belongsTo(user, company))
        .filter((user) => !needle || [user.username, user.email, user.firstName, user.lastName, `${user.firstName ?? ''} ${user.lastName ?? ''}`].some((field) => field?.toLowerCase().includes(needle)))
        .sort((a, b) => (a.username < b.username ? -1 : a.username > b.username ? 1 : 0));
      const slice = matches.slice(first, first + max);
      if (slice.length === 0) return { users: [], total: matches.length };
      // Roles from one member query per SafeShipper role, not one role-mapping call per user.
      const members = await Promise.all(ROLES.map(async (role) => ({ role, ids: await directMembers(role) })));
      const users = slice.map((user) => toCompanyUser(user, company, highestRole(members.filter(({ ids }) => ids.has(user.id)).map(({ role }) => role))));
      return { users, total: matches.length };
    },

    async getUser(companyId, userId) {
      const company = assertCompany(companyId);
      const user = await companyUser(company, userId);
      return toCompanyUser(user, company, roleFrom(await directRealmRoles(userId)));
    },

    async createUser(companyId, input) {
      const company = assertCompany(companyId);
      if (!isSafeShipperRole(input.role)) throw new TypeError(`not a SafeShipper role: ${String(input.role)}`);
      if (input.username.toLowerCase().startsWith(SERVICE_ACCOUNT_PREFIX)) {
        const message = `username: must not start with ${SERVICE_ACCOUNT_PREFIX} (reserved for service accounts)`;
        throw new KeycloakUserRejected(message, [{ field: 'username', message }]);
      }
      const permanentPassword = input.password !== undefined && input.password.temporary === false;
      const representation = {
        username: input.username,
        email: input.email,
        firstName: input.firstName,
        lastName: input.lastName,
        enabled: true,
        emailVerified: false,
        attributes: { company_id: [company] },
        requiredActions: [...(input.requiredActions ?? (permanentPassword ? [] : ['UPDATE_PASSWORD']))],
        ...(input.password ? { credentials: [{ type: 'password', value: input.password.value, temporary: !permanentPassword }] } : {}),
      };
      const what = 'create user';
      const response = await call('POST', '/users', { body: representation });
      if (response.status !== 201) throw await failure(response, what, { input: true });
      await response.body?.cancel();
      const id = /\/users\/([^/?#]+)$/.exec(response.headers.get('location') ?? '')?.[1];
      if (!id || !UUID.test(id)) throw new KeycloakUpstreamError(`${what}: Keycloak answered 201 without a usable Location header`, 201);
      try {
        await replaceRole(id, input.role);
      } catch (error) {
        // Not a user anyone has seen yet: remove it so that a retry does not meet a conflict.
        await call('DELETE', userPath(id)).then((cleanup) => cleanup.body?.cancel(), () => undefined);
        throw error;
      }
      return id;
    },

    async changeRole(companyId, userId, role) {
      const company = assertCompany(companyId);
      if (!isSafeShipperRole(role)) throw new TypeError(`not a SafeShipper role: ${String(role)}`);
      await companyUser(company, userId);
      const before = await replaceRole(userId, role);
      return { userId, before, after: role };
    },

    disableUser: (companyId, userId) => setEnabled(companyId, userId, false),
    enableUser: (companyId, userId) => setEnabled(companyId, userId, true),
  };
}

/** The caller's company: a UUID (it becomes part of a Keycloak query), compared in lower case. */
function assertCompany(companyId: string): string {
  if (!UUID.test(companyId)) throw new TypeError('companyId must be a UUID');
  return companyId.toLowerCase();
}

/** At most `limit` tasks run at once; the rest wait in arrival order. */
function semaphore(limit: number): { run<T>(task: () => Promise<T>): Promise<T> } {
  if (!Number.isInteger(limit) || limit < 1) throw new RangeError('maxConcurrentCalls must be an integer >= 1');
  let running = 0;
  const waiting: Array<() => void> = [];
  return {
    async run(task) {
      if (running >= limit) await new Promise<void>((resolve) => waiting.push(resolve));
      else running += 1;
      try {
        return await task();
      } finally {
        // The slot passes straight to the next in line, or is freed.
        const next = waiting.shift();
        if (next) next();
        else running -= 1;
      }
    },
  };
}
