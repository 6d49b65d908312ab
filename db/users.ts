import type { EntityManager } from './orm.js';

export interface CallerIdentity {
  subject: string;
  companyId: string;
  username: string | undefined;
  role: string | undefined;
}

export interface CallerRecord {
  userId: string;
  /** True the first time this Keycloak subject calls the API. */
  firstSeen: boolean;
  /** The role stored before this call, when the token now carries a different one. */
  roleChangedFrom: string | null | undefined;
}

/** The user row for a token's subject, created on first sight and kept in step with the token's role. */
export async function recordCaller(em: EntityManager, caller: CallerIdentity): Promise<CallerRecord> {
  const [existing] = await em.execute<Array<{ id: string; role: string | null }>>('SELECT id, role FROM users WHERE keycloak_subject = ?', [caller.subject]);
  const role = caller.role ?? null;
  if (!existing) {
    const [inserted] = await em.execute<Array<{ id: string; inserted: boolean }>>(
      `INSERT INTO users (company_id, keycloak_subject, username, role) VALUES (?, ?, ?, ?)
       ON CONFLICT (keycloak_subject) DO UPDATE SET last_seen_at = now() RETURNING id, (xmax = 0) AS inserted`,
      [caller.companyId, caller.subject, caller.username ?? null, role],
    );
    return { userId: inserted!.id, firstSeen: inserted!.inserted, roleChangedFrom: undefined };
  }
  await em.execute('UPDATE users SET last_seen_at = now(), role = ?, username = coalesce(?, username) WHERE id = ?', [role, caller.username ?? null, existing.id]);
  return { userId: existing.id, firstSeen: false, roleChangedFrom: existing.role !== role ? existing.role : undefined };
}
