/**
 * Faults a simulated device can be told to show: from the CLI (`--fault`), its stdin control
 * channel, its MQTT commands topic, or a test through the library.
 */
export type Fault =
  /** The load's temperature jumps to `celsius` (default 75 °C) until cleared. */
  | { kind: 'temperature-excursion'; celsius?: number }
  | { kind: 'leak' }
  /** The vehicle rolls over: tilt `deg` (default 85°), speed 0, until cleared. */
  | { kind: 'crash-tilt'; deg?: number }
  | { kind: 'door-open' }
  /** One point reported `km` (default 25 km) away from where the vehicle is; the next is right again. */
  | { kind: 'gps-jump'; km?: number }
  /** The vehicle drives into its route's DG-restricted zone (the Burnley Tunnel) and stays there until cleared. */
  | { kind: 'restricted-zone' }
  /** The connection drops for `seconds` (default 10); points are kept and sent as a burst on reconnect. */
  | { kind: 'network-drop'; seconds?: number }
  /** The device clock runs `seconds` ahead (negative: behind) until cleared. */
  | { kind: 'clock-skew'; seconds: number }
  /** Every fault ends: readings, position and clock are normal again. */
  | { kind: 'clear' };

export type FaultKind = Fault['kind'];
export const FAULT_KINDS: readonly FaultKind[] = ['temperature-excursion', 'leak', 'crash-tilt', 'door-open', 'gps-jump', 'restricted-zone', 'network-drop', 'clock-skew', 'clear'];

/** `kind` or `kind=number` (the fault's one parameter), as typed on a command line. */
export function parseFault(text: string): Fault {
  const [kind, raw] = text.trim().split('=', 2) as [string, string | undefined];
  const value = raw === undefined ? undefined : Number(raw);
  if (raw !== undefined && !Number.isFinite(value)) throw new Error(`fault ${kind}: ${raw} is not a number`);
  switch (kind) {
    case 'temperature-excursion':
      return value === undefined ? { kind } : { kind, celsius: value };
    case 'crash-tilt':
      return value === undefined ? { kind } : { kind, deg: value };
    case 'gps-jump':
      return value === undefined ? { kind } : { kind, km: value };
    case 'network-drop':
      return value === undefined ? { kind } : { kind, seconds: value };
    case 'clock-skew':
      if (value === undefined) throw new Error('clock-skew needs seconds: clock-skew=600');
      return { kind, seconds: value };
    case 'leak':
    case 'door-open':
    case 'restricted-zone':
    case 'clear':
      if (value !== undefined) throw new Error(`fault ${kind} takes no value`);
      return { kind };
    default:
      throw new Error(`unknown fault ${kind}; one of ${FAULT_KINDS.join(', ')}`);
  }
}

/** A fault sent on a device's commands topic: `{"simulate": {"kind": "leak"}}`. */
export function faultFromCommand(payload: Buffer): Fault | undefined {
  try {
    const body = JSON.parse(payload.toString('utf8')) as { simulate?: { kind?: unknown } };
    if (!body.simulate || typeof body.simulate.kind !== 'string') return undefined;
    const parameter = Object.entries(body.simulate).find(([key]) => key !== 'kind');
    return parseFault(parameter ? `${body.simulate.kind}=${String(parameter[1])}` : body.simulate.kind);
  } catch {
    return undefined;
  }
}
