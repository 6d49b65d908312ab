import { EntitySchema } from '@mikro-orm/core';
import { GeographyType, type GeoJsonPolygon } from './geography.js';

/**
 * Every tenant-owned entity carries the `tenant` filter, on by default: a query made
 * without the caller's company fails instead of returning every company's rows.
 */
const tenantFilter = (column: 'companyId' | 'id') => ({
  tenant: { name: 'tenant', cond: (args: { companyId: string }) => ({ [column]: args.companyId }), default: true },
});

export interface Company {
  id: string;
  name: string;
  createdAt: Date;
  updatedAt: Date;
}

export const CompanySchema = new EntitySchema<Company>({
  name: 'Company',
  tableName: 'companies',
  filters: tenantFilter('id'),
  properties: {
    id: { type: 'uuid', primary: true },
    name: { type: 'string' },
    createdAt: { type: 'datetime', onCreate: () => new Date() },
    updatedAt: { type: 'datetime', onCreate: () => new Date(), onUpdate: () => new Date() },
  },
});

export type GeofenceKind = 'DEPOT' | 'CUSTOMER' | 'RESTRICTED_DG';

export interface Geofence {
  id: string;
  companyId: string;
  name: string;
  kind: GeofenceKind;
  area: GeoJsonPolygon;
  createdAt: Date;
  updatedAt: Date;
}

export const GeofenceSchema = new EntitySchema<Geofence>({
  name: 'Geofence',
  tableName: 'geofences',
  filters: tenantFilter('companyId'),
  properties: {
    id: { type: 'uuid', primary: true, defaultRaw: 'gen_random_uuid()' },
    companyId: { type: 'uuid' },
    name: { type: 'string' },
    kind: { type: 'string' },
    area: { type: GeographyType, columnType: 'geography(Polygon, 4326)' },
    createdAt: { type: 'datetime', onCreate: () => new Date() },
    updatedAt: { type: 'datetime', onCreate: () => new Date(), onUpdate: () => new Date() },
  },
});

export interface Device {
  id: string;
  companyId: string;
  vehicleId: string | null;
  name: string;
  mqttUsername: string;
  secretHash: string;
  revokedAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

export const DeviceSchema = new EntitySchema<Device>({
  name: 'Device',
  tableName: 'devices',
  filters: tenantFilter('companyId'),
  properties: {
    id: { type: 'uuid', primary: true, defaultRaw: 'gen_random_uuid()' },
    companyId: { type: 'uuid' },
    vehicleId: { type: 'uuid', nullable: true },
    name: { type: 'string' },
    mqttUsername: { type: 'string' },
    secretHash: { type: 'string', hidden: true },
    revokedAt: { type: 'datetime', nullable: true },
    createdAt: { type: 'datetime', onCreate: () => new Date() },
    updatedAt: { type: 'datetime', onCreate: () => new Date(), onUpdate: () => new Date() },
  },
});

export const entities = [CompanySchema, GeofenceSchema, DeviceSchema];
