/**
 * Road routes as data: polylines through real places, drawn as straight legs between them (a
 * simulator needs plausible positions and real geofence crossings, not lane-level geometry).
 *
 * Source of every coordinate: the place's published latitude/longitude (WGS 84) in its English
 * Wikipedia article's infobox (GeoHack), rounded to 4 decimals (≈ 10 m); for the Burnley Tunnel,
 * its centre is the one the demo data's "Burnley Tunnel (DG prohibited)" geofence is drawn around
 * (db/seed.ts), and its portals are CityLink's published entry/exit points (Southbank, Burnley).
 * The Hume Highway's towns are listed in the order the highway passes them (VicRoads/Transport for
 * NSW route M31/A31 descriptions).
 */
export interface Waypoint {
  name: string;
  lat: number;
  lon: number;
}

export interface Route {
  name: string;
  description: string;
  waypoints: readonly Waypoint[];
  /** Where a "restricted-zone" fault sends a vehicle on this route: inside a DG-restricted zone. */
  restrictedZone: Waypoint;
}

/** CityLink's Burnley Tunnel: dangerous goods (placard loads) may not use it. */
export const BURNLEY_TUNNEL: Waypoint = { name: 'Burnley Tunnel (CityLink)', lat: -37.8277, lon: 145.0067 };
const BURNLEY_WEST_PORTAL: Waypoint = { name: 'CityLink Southbank (Burnley Tunnel west portal)', lat: -37.8262, lon: 144.969 };
const BURNLEY_EAST_PORTAL: Waypoint = { name: 'Burnley (Burnley Tunnel east portal)', lat: -37.829, lon: 145.023 };

export const ROUTES = {
  /** Sydney → Melbourne on the Hume Highway (M31), then across the city through the Burnley Tunnel. */
  hume: {
    name: 'hume',
    description: 'Hume Highway, Sydney to Melbourne, then CityLink through the Burnley Tunnel',
    waypoints: [
      { name: 'Sydney', lat: -33.8688, lon: 151.2093 },
      { name: 'Campbelltown', lat: -34.065, lon: 150.8142 },
      { name: 'Goulburn', lat: -34.7546, lon: 149.7186 },
      { name: 'Yass', lat: -34.8339, lon: 148.9117 },
      { name: 'Gundagai', lat: -35.0653, lon: 148.105 },
      { name: 'Holbrook', lat: -35.7283, lon: 147.3122 },
      { name: 'Albury', lat: -36.0737, lon: 146.9135 },
      { name: 'Wangaratta', lat: -36.358, lon: 146.312 },
      { name: 'Benalla', lat: -36.5511, lon: 145.9842 },
      { name: 'Seymour', lat: -37.0266, lon: 145.1392 },
      { name: 'Melbourne', lat: -37.8136, lon: 144.9631 },
      BURNLEY_WEST_PORTAL,
      BURNLEY_TUNNEL,
      BURNLEY_EAST_PORTAL,
    ],
    restrictedZone: BURNLEY_TUNNEL,
  },
  /** Acme's Laverton depot (db/seed.ts) to Boreal's Dandenong depot: West Gate Freeway, Burnley Tunnel, Monash Freeway. */
  'west-gate-monash': {
    name: 'west-gate-monash',
    description: 'Laverton to Dandenong over the West Gate Bridge, through the Burnley Tunnel and along the Monash Freeway',
    waypoints: [
      { name: 'Laverton', lat: -37.8591, lon: 144.7689 },
      { name: 'West Gate Bridge', lat: -37.829, lon: 144.8986 },
      BURNLEY_WEST_PORTAL,
      BURNLEY_TUNNEL,
      BURNLEY_EAST_PORTAL,
      { name: 'Glen Iris', lat: -37.8563, lon: 145.0652 },
      { name: 'Mulgrave', lat: -37.9167, lon: 145.1833 },
      { name: 'Dandenong', lat: -37.9875, lon: 145.2148 },
    ],
    restrictedZone: BURNLEY_TUNNEL,
  },
  /** Melbourne to Geelong on the Princes Freeway (M1): no restricted zone on the way. */
  princes: {
    name: 'princes',
    description: 'Princes Freeway, Melbourne to Geelong over the West Gate Bridge',
    waypoints: [
      { name: 'Melbourne', lat: -37.8136, lon: 144.9631 },
      { name: 'West Gate Bridge', lat: -37.829, lon: 144.8986 },
      { name: 'Laverton', lat: -37.8591, lon: 144.7689 },
      { name: 'Werribee', lat: -37.9, lon: 144.6594 },
      { name: 'Lara', lat: -38.0231, lon: 144.4099 },
      { name: 'Geelong', lat: -38.1499, lon: 144.3617 },
    ],
    restrictedZone: BURNLEY_TUNNEL,
  },
} as const satisfies Record<string, Route>;

export type RouteName = keyof typeof ROUTES;
export const ROUTE_NAMES = Object.keys(ROUTES) as RouteName[];
