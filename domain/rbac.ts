/**
 * Roles and permissions, from the architecture guide (seed, "Role-Based Access Control"):
 * each role inherits everything of the role below it; ADMIN holds every permission.
 */
export const ROLES = ['VIEWER', 'DRIVER', 'OPERATOR', 'MANAGER', 'ADMIN'] as const;
export type Role = (typeof ROLES)[number];

/** SafeShipper's own operators: may cross companies, only through explicit admin routes. */
export const PLATFORM_STAFF_ROLE = 'PLATFORM_STAFF';

const OWN_PERMISSIONS = {
  VIEWER: ['view_shipments', 'view_dangerous_goods', 'view_sds', 'view_documents'],
  DRIVER: ['report_incidents', 'update_location', 'upload_pod'],
  OPERATOR: ['create_shipments', 'manage_manifests', 'assign_drivers', 'upload_documents'],
  MANAGER: ['manage_users', 'view_analytics', 'manage_fleet', 'emergency_coordination'],
  ADMIN: ['manage_company', 'view_audit_log'],
} as const satisfies Record<Role, readonly string[]>;

export type Permission = (typeof OWN_PERMISSIONS)[Role][number];

/**
 * `authenticated`: any verified caller of a company, whatever the role.
 * `platform_staff`: SafeShipper's own operators (realm role PLATFORM_STAFF), on admin routes only.
 */
export type Requirement = Permission | 'authenticated' | 'platform_staff';

const level = (role: Role) => ROLES.indexOf(role);

export function permissionsOf(role: Role): Set<Permission> {
  return new Set(ROLES.filter((candidate) => level(candidate) <= level(role)).flatMap((candidate) => OWN_PERMISSIONS[candidate]));
}

/** The caller's effective role: the highest SafeShipper role among the token's roles. */
export function highestRole(roles: readonly string[]): Role | undefined {
  return [...ROLES].reverse().find((role) => roles.includes(role));
}

export function allows(role: Role | undefined, requirement: Requirement): boolean {
  if (role === undefined || requirement === 'platform_staff') return false;
  return requirement === 'authenticated' || permissionsOf(role).has(requirement);
}
