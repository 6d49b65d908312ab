import { Type } from '@mikro-orm/core';

export interface GeoJsonPoint {
  type: 'Point';
  coordinates: [number, number];
}
export interface GeoJsonPolygon {
  type: 'Polygon';
  coordinates: Array<Array<[number, number]>>;
}
export type GeoJsonGeometry = GeoJsonPoint | GeoJsonPolygon;

/** PostGIS geography columns as GeoJSON in JavaScript; PostGIS does the conversion both ways. */
export class GeographyType extends Type<GeoJsonGeometry | null, string | null> {
  override convertToDatabaseValue(value: GeoJsonGeometry | null): string | null {
    return value ? JSON.stringify(value) : null;
  }

  override convertToJSValue(value: string | GeoJsonGeometry | null): GeoJsonGeometry | null {
    return typeof value === 'string' ? (JSON.parse(value) as GeoJsonGeometry) : value;
  }

  override convertToDatabaseValueSQL(key: string): string {
    return `ST_SetSRID(ST_GeomFromGeoJSON(${key}), 4326)::geography`;
  }

  override convertToJSValueSQL(key: string): string {
    return `ST_AsGeoJSON(${key})`;
  }

  override getColumnType(): string {
    return 'geography';
  }
}
