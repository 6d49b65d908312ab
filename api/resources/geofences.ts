import { z } from 'zod';
import { GeofenceSchema, type Geofence } from '../../db/entities.js';
import type { GeoJsonPolygon } from '../../db/geography.js';
import type { ResourceDefinition } from '../resource.js';
import { text } from '../validation.js';

const longitude = z.number().min(-180).max(180);
const position = z.tuple([longitude, z.number().min(-90).max(90)]);
const polygon = z.strictObject({
  type: z.literal('Polygon'),
  coordinates: z
    .array(z.array(position).min(4).max(2000))
    .min(1, 'one outer ring (holes are not supported)')
    .max(1, 'one outer ring (holes are not supported)')
    .refine((rings) => rings.every((ring) => ring[0]![0] === ring.at(-1)![0] && ring[0]![1] === ring.at(-1)![1]), 'each ring must end where it starts'),
});
// Bounds the database stores and PostGIS draws: the radius is a `real` (a metre and up; nothing near its underflow), and a circle cannot sit on a pole.
const circle = z.strictObject({ type: z.literal('Circle'), center: z.tuple([longitude, z.number().min(-89).max(89)]), radiusM: z.number().min(1).max(100_000) });
const area = z.discriminatedUnion('type', [polygon, circle]);

const fields = { name: text(200), kind: z.enum(['DEPOT', 'CUSTOMER', 'RESTRICTED_DG']), area };
const create = z.strictObject(fields);
const update = z.strictObject(fields).partial();

/** A circle is kept as its centre and radius and stored as the polygon PostGIS draws for it (64 segments a quarter). */
function circlePolygon(center: [number, number], radiusM: number): GeoJsonPolygon {
  // Spherical destination points; PostGIS receives the ring and indexes it like any polygon.
  const [lon, lat] = center;
  const R = 6_371_008.8;
  const ring: Array<[number, number]> = [];
  for (let i = 0; i <= 64; i += 1) {
    const bearing = ((i % 64) / 64) * 2 * Math.PI;
    const d = radiusM / R;
    const φ1 = (lat * Math.PI) / 180;
    const λ1 = (lon * Math.PI) / 180;
    const φ2 = Math.asin(Math.sin(φ1) * Math.cos(d) + Math.cos(φ1) * Math.sin(d) * Math.cos(bearing));
    const λ2 = λ1 + Math.atan2(Math.sin(bearing) * Math.sin(d) * Math.cos(φ1), Math.cos(d) - Math.sin(φ1) * Math.sin(φ2));
    ring.push([Number(((λ2 * 180) / Math.PI).toFixed(7)), Number(((φ2 * 180) / Math.PI).toFixed(7))]);
  }
  ring[64] = ring[0]!;
  return { type: 'Polygon', coordinates: [ring] };
}

function areaColumns(input: z.infer<typeof area>): Pick<Geofence, 'area' | 'circleCenter' | 'circleRadiusM'> {
  if (input.type === 'Polygon') return { area: input as GeoJsonPolygon, circleCenter: null, circleRadiusM: null };
  return { area: circlePolygon(input.center, input.radiusM), circleCenter: { type: 'Point', coordinates: input.center }, circleRadiusM: input.radiusM };
}

export const geofences: ResourceDefinition<Geofence, z.infer<typeof create>, z.infer<typeof update>, unknown> = {
  type: 'geofence',
  path: '/api/v1/geofences',
  entity: GeofenceSchema,
  createSchema: create,
  updateSchema: update,
  build: async (input) => ({ name: input.name, kind: input.kind, ...areaColumns(input.area) }),
  apply: async (fence, input) => {
    if (input.name !== undefined) fence.name = input.name;
    if (input.kind !== undefined) fence.kind = input.kind;
    if (input.area !== undefined) Object.assign(fence, areaColumns(input.area));
  },
  view: (g) => ({
    id: g.id,
    name: g.name,
    kind: g.kind,
    area: g.circleCenter && g.circleRadiusM ? { type: 'Circle', center: g.circleCenter.coordinates, radiusM: g.circleRadiusM } : g.area,
    createdAt: g.createdAt,
    updatedAt: g.updatedAt,
  }),
  filters: z.object({ kind: fields.kind.optional() }),
  where: (f) => (f.kind ? { kind: f.kind as Geofence['kind'] } : {}),
  orders: { name: 'name' },
};

/** What `view` answers, as JSON (dates as ISO strings): the response schema of the OpenAPI contract (api/openapi.ts). A circle comes back as drawn. */
export const geofenceView = z.object({
  id: z.uuid(),
  name: z.string(),
  kind: fields.kind,
  area: z.discriminatedUnion('type', [
    z.object({ type: z.literal('Polygon'), coordinates: z.array(z.array(z.tuple([z.number(), z.number()]))) }),
    z.object({ type: z.literal('Circle'), center: z.tuple([z.number(), z.number()]), radiusM: z.number() }),
  ]),
  createdAt: z.iso.datetime(),
  updatedAt: z.iso.datetime(),
});
