import { describe, expect, it } from 'vitest';
import { allows, highestRole, permissionsOf, ROLES } from '../../domain/rbac.js';

describe('role hierarchy (seed: VIEWER < DRIVER < OPERATOR < MANAGER < ADMIN)', () => {
  it('each role has its own permissions plus those of every role below', () => {
    expect([...permissionsOf('VIEWER')]).toEqual(['view_shipments', 'view_dangerous_goods', 'view_sds', 'view_documents']);
    expect(permissionsOf('DRIVER').has('view_shipments')).toBe(true);
    expect(permissionsOf('DRIVER').has('create_shipments')).toBe(false);
    expect(permissionsOf('OPERATOR').has('report_incidents')).toBe(true);
    expect(permissionsOf('MANAGER').has('manage_fleet')).toBe(true);
    expect(permissionsOf('MANAGER').has('view_audit_log')).toBe(false);
    expect(permissionsOf('ADMIN').size).toBe(17);
    for (let i = 1; i < ROLES.length; i += 1) {
      const below = permissionsOf(ROLES[i - 1]!);
      const role = permissionsOf(ROLES[i]!);
      expect([...below].every((permission) => role.has(permission))).toBe(true);
      expect(role.size).toBeGreaterThan(below.size);
    }
  });

  it('the effective role is the highest SafeShipper role in the token; other roles count for nothing', () => {
    expect(highestRole(['VIEWER', 'DRIVER', 'OPERATOR', 'offline_access'])).toBe('OPERATOR');
    expect(highestRole(['offline_access', 'uma_authorization'])).toBeUndefined();
    expect(allows(undefined, 'authenticated')).toBe(false);
    expect(allows('VIEWER', 'authenticated')).toBe(true);
    expect(allows('DRIVER', 'create_shipments')).toBe(false);
    expect(allows('OPERATOR', 'create_shipments')).toBe(true);
  });
});
