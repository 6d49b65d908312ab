import { createRemoteJWKSet, errors, jwtVerify, type JWTPayload } from 'jose';
import { highestRole, PLATFORM_STAFF_ROLE, type Role } from '../domain/rbac.js';
import { Problem, unauthorized } from './problem.js';

export interface Principal {
  subject: string;
  username: string | undefined;
  companyId: string | undefined;
  role: Role | undefined;
  platformStaff: boolean;
}

interface KeycloakClaims extends JWTPayload {
  azp?: unknown;
  company_id?: unknown;
  preferred_username?: unknown;
  realm_access?: { roles?: unknown };
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[1-8][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i;

/**
 * Verifies Keycloak access tokens against the realm's JWKS (cached by jose, refetched when a
 * token names an unknown key): signature, RS256 only (so `alg: none` and HMAC tricks fail),
 * issuer, audience, expiry with 30 s of clock skew, and the client the token was issued to
 * (`azp`): another client of the realm that can mint tokens carrying our audience (a test
 * client's password grant, a tool) is not a way in unless it is on the allow-list.
 */
const CLOCK_TOLERANCE_S = 30;
const MAX_CACHED_TOKENS = 10_000;

export function tokenVerifier(options: { issuer: string; audience: string; allowedClients: readonly string[]; now?: () => Date }) {
  const allowedClients = new Set(options.allowedClients);
  const verified = new Map<string, { principal: Principal; exp: number }>();
  const jwks = createRemoteJWKSet(new URL(`${options.issuer}/protocol/openid-connect/certs`), { cooldownDuration: 30_000, cacheMaxAge: 600_000 });

  return async function verify(authorization: string | undefined): Promise<Principal> {
    const match = /^Bearer ([\w-]+\.[\w-]+\.[\w-]*)$/.exec(authorization ?? '');
    if (!match) throw unauthorized('A Bearer access token is required');
    const token = match[1]!;
    const nowSeconds = (options.now?.() ?? new Date()).getTime() / 1000;
    // A token verified once is the same token until it expires: the signature check is skipped
    // on repeats (the cache key is the whole token, signature included), never the expiry.
    const known = verified.get(token);
    if (known) {
      if (nowSeconds <= known.exp + CLOCK_TOLERANCE_S) return known.principal;
      verified.delete(token);
    }
    let payload: KeycloakClaims;
    try {
      ({ payload } = await jwtVerify<KeycloakClaims>(token, jwks, {
        issuer: options.issuer,
        audience: options.audience,
        algorithms: ['RS256'],
        clockTolerance: CLOCK_TOLERANCE_S,
        requiredClaims: ['exp'],
        ...(options.now ? { currentDate: options.now() } : {}),
      }));
    } catch (error) {
      // A token we cannot check because Keycloak is unreachable is our outage, not the caller's fault.
      if (error instanceof errors.JWKSTimeout || error instanceof TypeError) throw new Problem(503, 'Service Unavailable', 'The identity provider could not be reached to verify the token', { headers: { 'Retry-After': '5' } });
      throw unauthorized(describe(error));
    }
    if (typeof payload.sub !== 'string' || payload.sub === '') throw unauthorized('The access token names no subject');
    if (typeof payload.azp !== 'string' || !allowedClients.has(payload.azp)) throw unauthorized(`The access token's "azp" claim is not accepted`);
    const roles = Array.isArray(payload.realm_access?.roles) ? payload.realm_access.roles.filter((role): role is string => typeof role === 'string') : [];
    const companyId = typeof payload.company_id === 'string' && UUID.test(payload.company_id) ? payload.company_id.toLowerCase() : undefined;
    const principal: Principal = {
      subject: payload.sub,
      username: typeof payload.preferred_username === 'string' ? payload.preferred_username : undefined,
      companyId,
      role: highestRole(roles),
      platformStaff: roles.includes(PLATFORM_STAFF_ROLE),
    };
    if (verified.size >= MAX_CACHED_TOKENS) verified.clear();
    verified.set(token, { principal, exp: payload.exp as number });
    return principal;
  };
}

export type TokenVerifier = ReturnType<typeof tokenVerifier>;

function describe(error: unknown): string {
  if (error instanceof errors.JWTExpired) return 'The access token has expired';
  if (error instanceof errors.JWTClaimValidationFailed) return `The access token's "${error.claim}" claim is not accepted`;
  if (error instanceof errors.JOSEAlgNotAllowed) return 'The access token is not signed with an accepted algorithm';
  if (error instanceof errors.JWSSignatureVerificationFailed) return 'The access token signature is invalid';
  if (error instanceof errors.JWKSNoMatchingKey) return 'The access token is signed with an unknown key';
  return 'The access token is invalid';
}
