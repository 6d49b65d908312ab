import { EntitySchema, type OptionalProps } from '@mikro-orm/core';

/** Columns the database fills: not required when creating an entity. */
type Generated = 'id' | 'version' | 'createdAt' | 'updatedAt';
import { GeographyType, type GeoJsonPoint, type GeoJsonPolygon } from './geography.js';
import { DEFAULT_REGIME, type Regime } from '../domain/dangerous-goods/regime.js';
import type { ShipmentStatus } from '../domain/shipment-lifecycle.js';

/**
 * Every tenant-owned entity carries the `tenant` filter, on by default: a query made
 * without the caller's company fails instead of returning every company's rows.
 */
const tenantFilter = (column: 'companyId' | 'id') => ({
  tenant: { name: 'tenant', cond: (args: { companyId: string }) => ({ [column]: args.companyId }), default: true },
});

export interface Company {
  [OptionalProps]?: 'dgRegime';
  id: string;
  name: string;
  /** The DG regime answers default to (a request may name another); the column defaults to 'adg'. */
  dgRegime: Regime;
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
    dgRegime: { type: 'string', default: DEFAULT_REGIME },
    createdAt: { type: 'datetime', onCreate: () => new Date() },
    updatedAt: { type: 'datetime', onCreate: () => new Date(), onUpdate: () => new Date() },
  },
});

export type GeofenceKind = 'DEPOT' | 'CUSTOMER' | 'RESTRICTED_DG';

export interface Geofence {
  [OptionalProps]?: Generated | 'circleCenter' | 'circleRadiusM' | 'secretRotatedAt' | 'revokedAt' | 'vehicleId';
  id: string;
  companyId: string;
  name: string;
  kind: GeofenceKind;
  area: GeoJsonPolygon;
  circleCenter: GeoJsonPoint | null;
  circleRadiusM: number | null;
  version: number;
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
    circleCenter: { type: GeographyType, columnType: 'geography(Point, 4326)', nullable: true },
    circleRadiusM: { type: 'float', nullable: true },
    version: { type: 'integer', version: true },
    createdAt: { type: 'datetime', onCreate: () => new Date() },
    updatedAt: { type: 'datetime', onCreate: () => new Date(), onUpdate: () => new Date() },
  },
});

export interface Device {
  [OptionalProps]?: Generated | 'circleCenter' | 'circleRadiusM' | 'secretRotatedAt' | 'revokedAt' | 'vehicleId' | 'brokerSecretHash' | 'connectionStatus' | 'lastSeenAt' | 'rejections';
  id: string;
  companyId: string;
  vehicleId: string | null;
  name: string;
  mqttUsername: string;
  secretHash: string;
  /** The same secret as PBKDF2-SHA512 for an external MQTT broker (security/broker-secrets.ts); null for devices issued before it. */
  brokerSecretHash: string | null;
  revokedAt: Date | null;
  secretRotatedAt: Date | null;
  /** Written by ingest only (db/telemetry.ts recordDevicePresence): NEVER_SEEN, ONLINE or OFFLINE. */
  connectionStatus: string;
  lastSeenAt: Date | null;
  /** Refused messages by reason (telemetry_rejections), read with the device. */
  rejections: Record<string, number>;
  version: number;
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
    brokerSecretHash: { type: 'string', nullable: true, hidden: true },
    revokedAt: { type: 'datetime', nullable: true },
    secretRotatedAt: { type: 'datetime', nullable: true },
    connectionStatus: { type: 'string', fieldName: 'status', defaultRaw: `'NEVER_SEEN'` },
    lastSeenAt: { type: 'datetime', nullable: true },
    rejections: { type: 'json', persist: false, formula: (alias) => `(SELECT coalesce(jsonb_object_agg(r.reason, r.count), '{}'::jsonb) FROM telemetry_rejections r WHERE r.device_id = ${alias}.id)` },
    version: { type: 'integer', version: true },
    createdAt: { type: 'datetime', onCreate: () => new Date() },
    updatedAt: { type: 'datetime', onCreate: () => new Date(), onUpdate: () => new Date() },
  },
});

const timestamps = {
  createdAt: { type: 'datetime', onCreate: () => new Date() },
  updatedAt: { type: 'datetime', onCreate: () => new Date(), onUpdate: () => new Date() },
} as const;

const owned = {
  id: { type: 'uuid', primary: true, defaultRaw: 'gen_random_uuid()' },
  companyId: { type: 'uuid' },
} as const;

interface Owned {
  [OptionalProps]?: Generated;
  id: string;
  companyId: string;
  version: number;
  createdAt: Date;
  updatedAt: Date;
}

export type Role = 'VIEWER' | 'DRIVER' | 'OPERATOR' | 'MANAGER' | 'ADMIN';

export interface User {
  [OptionalProps]?: 'id' | 'firstSeenAt' | 'lastSeenAt';
  id: string;
  companyId: string;
  keycloakSubject: string;
  username: string | null;
  email: string | null;
  role: Role | null;
  firstSeenAt: Date;
  lastSeenAt: Date;
}

export const UserSchema = new EntitySchema<User>({
  name: 'User',
  tableName: 'users',
  filters: tenantFilter('companyId'),
  properties: {
    ...owned,
    keycloakSubject: { type: 'string' },
    username: { type: 'string', nullable: true },
    email: { type: 'string', nullable: true },
    role: { type: 'string', nullable: true },
    firstSeenAt: { type: 'datetime', onCreate: () => new Date() },
    lastSeenAt: { type: 'datetime', onCreate: () => new Date() },
  },
});

export interface Driver extends Owned {
  userId: string | null;
  fullName: string;
  phone: string | null;
  dgLicenceNumber: string;
  dgLicenceClass: string;
  dgLicenceExpiresOn: string;
}

export const DriverSchema = new EntitySchema<Driver>({
  name: 'Driver',
  tableName: 'drivers',
  filters: tenantFilter('companyId'),
  properties: {
    ...owned,
    userId: { type: 'uuid', nullable: true },
    fullName: { type: 'string' },
    phone: { type: 'string', nullable: true },
    dgLicenceNumber: { type: 'string' },
    dgLicenceClass: { type: 'string' },
    dgLicenceExpiresOn: { type: 'date' },
    version: { type: 'integer', version: true },
    ...timestamps,
  },
});

export interface TrainingRecord extends Owned {
  driverId: string;
  course: string;
  completedOn: string;
  expiresOn: string;
}

export const TrainingRecordSchema = new EntitySchema<TrainingRecord>({
  name: 'TrainingRecord',
  tableName: 'driver_training_records',
  filters: tenantFilter('companyId'),
  properties: {
    ...owned,
    driverId: { type: 'uuid' },
    course: { type: 'string' },
    completedOn: { type: 'date' },
    expiresOn: { type: 'date' },
    version: { type: 'integer', version: true },
    ...timestamps,
  },
});

export type VehicleType = 'RIGID' | 'ARTICULATED' | 'TANKER' | 'VAN' | 'UTE';

export interface Vehicle extends Owned {
  registration: string;
  vehicleType: VehicleType;
  capacityKg: number;
  status: 'ACTIVE' | 'GROUNDED';
  /** Why the vehicle is GROUNDED (null when ACTIVE); with status, written only by the inspection workflow's activity. */
  groundedReason: string | null;
  placardHolders: number;
  inspectionExpiresOn: string | null;
}

export const VehicleSchema = new EntitySchema<Vehicle>({
  name: 'Vehicle',
  tableName: 'vehicles',
  filters: tenantFilter('companyId'),
  properties: {
    ...owned,
    registration: { type: 'string' },
    vehicleType: { type: 'string' },
    capacityKg: { type: 'integer' },
    status: { type: 'string' },
    groundedReason: { type: 'text', nullable: true },
    placardHolders: { type: 'integer' },
    inspectionExpiresOn: { type: 'date', nullable: true },
    version: { type: 'integer', version: true },
    ...timestamps,
  },
});

/** phone, email and details hold ciphertext (security/field-encryption.ts); the API layer encrypts and decrypts. */
export interface EmergencyContact extends Owned {
  name: string;
  available24h: boolean;
  phone: string;
  email: string | null;
  details: string | null;
}

export const EmergencyContactSchema = new EntitySchema<EmergencyContact>({
  name: 'EmergencyContact',
  tableName: 'emergency_contacts',
  filters: tenantFilter('companyId'),
  properties: {
    ...owned,
    name: { type: 'string' },
    available24h: { type: 'boolean', fieldName: 'available_24h' },
    phone: { type: 'text' },
    email: { type: 'text', nullable: true },
    details: { type: 'text', nullable: true },
    version: { type: 'integer', version: true },
    ...timestamps,
  },
});


/** Written only by the shipment workflow's activities (domain/shipment-lifecycle.ts). */
export interface Shipment extends Owned {
  shipmentNumber: string;
  status: ShipmentStatus;
  originAddress: string;
  originLocation: GeoJsonPoint;
  destinationAddress: string;
  destinationLocation: GeoJsonPoint;
  pickupAt: Date;
  deliverBy: Date;
  vehicleId: string | null;
  driverId: string | null;
  emergencyContactId: string | null;
}

export const ShipmentSchema = new EntitySchema<Shipment>({
  name: 'Shipment',
  tableName: 'shipments',
  filters: tenantFilter('companyId'),
  properties: {
    ...owned,
    shipmentNumber: { type: 'string' },
    status: { type: 'string' },
    originAddress: { type: 'string' },
    originLocation: { type: GeographyType, columnType: 'geography(Point, 4326)' },
    destinationAddress: { type: 'string' },
    destinationLocation: { type: GeographyType, columnType: 'geography(Point, 4326)' },
    pickupAt: { type: 'datetime' },
    deliverBy: { type: 'datetime' },
    vehicleId: { type: 'uuid', nullable: true },
    driverId: { type: 'uuid', nullable: true },
    emergencyContactId: { type: 'uuid', nullable: true },
    version: { type: 'integer', version: true },
    ...timestamps,
  },
});

export interface ConsignmentItem extends Owned {
  shipmentId: string;
  dangerousGoodId: string;
  technicalName: string | null;
  quantity: string;
  unit: 'kg' | 'L';
  packages: number;
}

export const ConsignmentItemSchema = new EntitySchema<ConsignmentItem>({
  name: 'ConsignmentItem',
  tableName: 'consignment_items',
  filters: tenantFilter('companyId'),
  properties: {
    ...owned,
    shipmentId: { type: 'uuid' },
    dangerousGoodId: { type: 'uuid' },
    technicalName: { type: 'string', nullable: true },
    quantity: { type: 'decimal', precision: 12, scale: 3 },
    unit: { type: 'string' },
    packages: { type: 'integer' },
    version: { type: 'integer', version: true },
    ...timestamps,
  },
});

/** A company's webhook subscription (integrations): the signing secret is sealed (security/field-encryption.ts) and never answered after creation. */
export interface WebhookSubscription extends Owned {
  url: string;
  description: string | null;
  secret: string;
  events: string[];
  enabled: boolean;
}

export const WebhookSubscriptionSchema = new EntitySchema<WebhookSubscription>({
  name: 'WebhookSubscription',
  tableName: 'webhook_subscriptions',
  filters: tenantFilter('companyId'),
  properties: {
    ...owned,
    url: { type: 'text' },
    description: { type: 'text', nullable: true },
    secret: { type: 'text', hidden: true },
    events: { type: 'string[]' },
    enabled: { type: 'boolean' },
    version: { type: 'integer', version: true },
    ...timestamps,
  },
});

export const entities = [
  CompanySchema,
  GeofenceSchema,
  DeviceSchema,
  UserSchema,
  DriverSchema,
  TrainingRecordSchema,
  VehicleSchema,
  EmergencyContactSchema,
  ShipmentSchema,
  ConsignmentItemSchema,
  WebhookSubscriptionSchema,
];
