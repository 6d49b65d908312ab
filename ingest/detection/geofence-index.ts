import Flatbush from 'flatbush';
import pointInPolygon from 'point-in-polygon-hao';
import { geofenceShapes, type GeofenceShape } from '../../db/geofences.js';
import type { EntityManager } from '../../db/orm.js';

/** One company's geofences, bounding boxes in a static R-tree; built once per change, asked per point. */
export class CompanyGeofences {
  private readonly index: Flatbush | null;
  private readonly byId: Map<string, GeofenceShape>;

  constructor(private readonly shapes: GeofenceShape[]) {
    this.byId = new Map(shapes.map((shape) => [shape.id, shape]));
    if (shapes.length === 0) {
      this.index = null;
      return;
    }
    const index = new Flatbush(shapes.length);
    for (const shape of shapes) {
      let minX = Infinity;
      let minY = Infinity;
      let maxX = -Infinity;
      let maxY = -Infinity;
      for (const [x, y] of shape.rings[0] ?? []) {
        minX = Math.min(minX, x!);
        minY = Math.min(minY, y!);
        maxX = Math.max(maxX, x!);
        maxY = Math.max(maxY, y!);
      }
      index.add(minX, minY, maxX, maxY);
    }
    index.finish();
    this.index = index;
  }

  /** The geofences whose polygon holds the point (an edge counts as inside, as ST_Covers does), sorted by id. */
  covering(lon: number, lat: number): string[] {
    if (!this.index) return [];
    const ids: string[] = [];
    for (const i of this.index.search(lon, lat, lon, lat)) {
      const shape = this.shapes[i]!;
      if (pointInPolygon([lon, lat], shape.rings) !== false) ids.push(shape.id);
    }
    return ids.sort();
  }

  get(id: string): GeofenceShape | undefined {
    return this.byId.get(id);
  }
}

/**
 * Each company's index, loaded on first need inside the caller's transaction (RLS gives it that
 * company's geofences) and dropped when PostgreSQL says the company's geofences changed. While
 * changes cannot be heard (`hearingChanges` false) nothing is kept: every batch reads them afresh.
 */
export class GeofenceIndex {
  private readonly companies = new Map<string, CompanyGeofences>();
  /** Bumped on every change heard: an index read before a change is not kept after it. */
  private generation = 0;

  constructor(private readonly hearingChanges: () => boolean) {}

  async forCompany(tx: EntityManager, companyId: string): Promise<CompanyGeofences> {
    const cached = this.companies.get(companyId);
    if (cached) return cached;
    const generation = this.generation;
    const loaded = new CompanyGeofences(await geofenceShapes(tx));
    if (this.hearingChanges() && generation === this.generation) this.companies.set(companyId, loaded);
    return loaded;
  }

  changed(companyId: string): void {
    this.generation += 1;
    this.companies.delete(companyId);
  }

  everythingMayHaveChanged(): void {
    this.generation += 1;
    this.companies.clear();
  }
}
