/**
 * OData error bodies, read into one message a person can act on. SAP Gateway (OData v2) answers
 * `{"error":{"code":"SY/530","message":{"lang":"en","value":"…"},"innererror":{"errordetails":[…]}}}`
 * (or the same as XML), OData v4 `{"error":{"code":"…","message":"…","target":"…","details":[…]}}`;
 * the details name the field at fault (`target`, `propertyref`) and are where SAP puts every
 * message of a failed deep insert.
 */
export interface ODataErrorDetail {
  code: string | null;
  message: string;
  target: string | null;
}

export interface ODataError {
  code: string | null;
  message: string;
  target: string | null;
  details: ODataErrorDetail[];
}

const MAX_MESSAGE = 2000;
const text = (value: unknown): string | null => (typeof value === 'string' && value.trim() !== '' ? value.trim() : null);

/** v2 nests the text as `{lang, value}`, v4 gives it as a string. */
const messageOf = (value: unknown): string | null => text(value) ?? (value && typeof value === 'object' ? text((value as { value?: unknown }).value) : null);

function fromJson(body: unknown): ODataError | undefined {
  const error = (body as { error?: unknown } | null)?.error;
  if (!error || typeof error !== 'object') return undefined;
  const e = error as Record<string, unknown>;
  const message = messageOf(e.message);
  if (message === null) return undefined;
  const inner = e.innererror as { errordetails?: unknown } | undefined;
  const rawDetails = [...(Array.isArray(e.details) ? e.details : []), ...(Array.isArray(inner?.errordetails) ? inner.errordetails : [])];
  const details = rawDetails.flatMap((raw): ODataErrorDetail[] => {
    if (!raw || typeof raw !== 'object') return [];
    const d = raw as Record<string, unknown>;
    // SAP lists warnings and infos beside the errors; only what failed the request is the reason.
    const severity = text(d.severity)?.toLowerCase();
    if (severity && severity !== 'error') return [];
    const detailMessage = messageOf(d.message);
    return detailMessage === null ? [] : [{ code: text(d.code), message: detailMessage, target: text(d.target) ?? text(d.propertyref) }];
  });
  return { code: text(e.code), message, target: text(e.target), details };
}

const XML_ENTITIES: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };
const decodeXml = (value: string) =>
  value.replace(/&(#x[0-9a-f]+|#\d+|lt|gt|amp|quot|apos);/gi, (_, entity: string) =>
    entity.startsWith('#x') || entity.startsWith('#X') ? String.fromCodePoint(parseInt(entity.slice(2), 16)) : entity.startsWith('#') ? String.fromCodePoint(Number(entity.slice(1))) : XML_ENTITIES[entity.toLowerCase()]!,
  );
const xmlElement = (xml: string, name: string): string | null => {
  const match = new RegExp(`<(?:\\w+:)?${name}(?:\\s[^>]*)?>([\\s\\S]*?)</(?:\\w+:)?${name}>`).exec(xml);
  return match ? text(decodeXml(match[1]!)) : null;
};

function fromXml(xml: string): ODataError | undefined {
  if (!/<(?:\w+:)?error[\s>]/.test(xml)) return undefined;
  const detailBlocks = [...xml.matchAll(/<(?:\w+:)?errordetail(?:\s[^>]*)?>([\s\S]*?)<\/(?:\w+:)?errordetail>/g)].map((m) => m[1]!);
  const head = xml.replace(/<(?:\w+:)?innererror[\s\S]*<\/(?:\w+:)?innererror>/, '');
  const message = xmlElement(head, 'message');
  if (message === null) return undefined;
  const details = detailBlocks.flatMap((block): ODataErrorDetail[] => {
    const severity = xmlElement(block, 'severity')?.toLowerCase();
    const detailMessage = xmlElement(block, 'message');
    if ((severity && severity !== 'error') || detailMessage === null) return [];
    return [{ code: xmlElement(block, 'code'), message: detailMessage, target: xmlElement(block, 'target') ?? xmlElement(block, 'propertyref') }];
  });
  return { code: xmlElement(head, 'code'), message, target: xmlElement(head, 'target'), details };
}

/** The OData error in a body, JSON or XML; undefined when the body is not one (an HTML error page, a proxy's text). */
export function parseODataError(body: string): ODataError | undefined {
  const trimmed = body.trim();
  if (trimmed.startsWith('{')) {
    try {
      return fromJson(JSON.parse(trimmed));
    } catch {
      return undefined;
    }
  }
  return trimmed.startsWith('<') ? fromXml(trimmed) : undefined;
}

const describe = (entry: { code: string | null; message: string; target: string | null }) => `${entry.code ? `[${entry.code}] ` : ''}${entry.message}${entry.target ? ` (at ${entry.target})` : ''}`;

/**
 * `SAP answered 400 to create DeliveryOrders: [SY/530] Material UN9999 is not defined (at Items(1)/MaterialNumber)`:
 * the status, what we asked, the main message and each distinct detail. A body that is no OData
 * error is quoted (shortened), so nothing the ERP said is lost.
 */
export function odataErrorMessage(status: number, operation: string, body: string): string {
  const error = parseODataError(body);
  const head = `SAP answered ${status} to ${operation}`;
  if (!error) {
    const quoted = body.replace(/\s+/g, ' ').trim().slice(0, 300);
    return quoted ? `${head}: ${quoted}` : `${head} with an empty body`;
  }
  const main = describe(error);
  const details = [...new Set(error.details.map(describe))].filter((detail) => detail !== main);
  return `${head}: ${[main, ...details].join('; ')}`.slice(0, MAX_MESSAGE);
}
