import type { Database } from './orm.js';
import { inTenant } from './orm.js';
import { CompanySchema, DeviceSchema, GeofenceSchema } from './entities.js';

/** The demo companies; their ids are the `company_id` attributes of the demo users in the Keycloak realm. */
export const DEMO_COMPANIES = [
  { id: '11111111-1111-4111-8111-111111111111', name: 'Acme Chemicals' },
  { id: '22222222-2222-4222-8222-222222222222', name: 'Boreal Freight' },
] as const;

const square = (lon: number, lat: number, half: number) => ({
  type: 'Polygon' as const,
  coordinates: [[[lon - half, lat - half], [lon + half, lat - half], [lon + half, lat + half], [lon - half, lat + half], [lon - half, lat - half]] as Array<[number, number]>],
});

/** Demo geofences around Melbourne: a depot, a customer, and the Burnley Tunnel (no DG through it). */
const DEMO_GEOFENCES = [
  { id: 'a1a1a1a1-0000-4000-8000-000000000001', companyId: DEMO_COMPANIES[0].id, name: 'Acme Laverton depot', kind: 'DEPOT' as const, area: square(144.7689, -37.8591, 0.004) },
  { id: 'a1a1a1a1-0000-4000-8000-000000000002', companyId: DEMO_COMPANIES[0].id, name: 'Burnley Tunnel (DG prohibited)', kind: 'RESTRICTED_DG' as const, area: square(145.0067, -37.8277, 0.006) },
  { id: 'b2b2b2b2-0000-4000-8000-000000000001', companyId: DEMO_COMPANIES[1].id, name: 'Boreal Dandenong depot', kind: 'DEPOT' as const, area: square(145.2148, -37.9875, 0.004) },
];

export const DEMO_DEVICE = { id: 'a1a1a1a1-0000-4000-8000-0000000000d1', companyId: DEMO_COMPANIES[0].id, name: 'Acme truck 1 tracker', mqttUsername: 'acme-truck-1' };

/**
 * Idempotent demo data, written through the app role so row-level security checks it too.
 * The demo device's secret hash is passed in: its plaintext is kept by whoever made it.
 */
export async function seedDemoData(db: Database, demoDeviceSecretHash: string): Promise<void> {
  for (const company of DEMO_COMPANIES) {
    await inTenant(db, company.id, async (em) => {
      if (!(await em.findOne(CompanySchema, { id: company.id }))) em.create(CompanySchema, { ...company, createdAt: new Date(), updatedAt: new Date() });
      await em.flush();
      for (const fence of DEMO_GEOFENCES.filter((candidate) => candidate.companyId === company.id)) {
        if (!(await em.findOne(GeofenceSchema, { id: fence.id }))) em.create(GeofenceSchema, { ...fence, createdAt: new Date(), updatedAt: new Date() });
      }
      if (company.id === DEMO_DEVICE.companyId) {
        const device = await em.findOne(DeviceSchema, { id: DEMO_DEVICE.id });
        if (device) device.secretHash = demoDeviceSecretHash;
        else em.create(DeviceSchema, { ...DEMO_DEVICE, vehicleId: null, secretHash: demoDeviceSecretHash, revokedAt: null, createdAt: new Date(), updatedAt: new Date() });
      }
    });
  }
}
