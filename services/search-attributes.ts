import type { Connection } from '@temporalio/client';
import type { SearchAttributeType } from '@temporalio/common';
import proto from '@temporalio/proto';
import { ShipmentSearchAttributes } from '../workflows/contracts/shipment.js';
import { InspectionSearchAttributes } from '../workflows/contracts/inspection.js';
import { IncidentSearchAttributes } from '../workflows/contracts/incident.js';

/** Every custom search attribute the workflows set, taken from their contracts: name → type (contracts sharing a key, CompanyId, name it once). */
export const SEARCH_ATTRIBUTES: ReadonlyMap<string, SearchAttributeType> = new Map(
  [ShipmentSearchAttributes, InspectionSearchAttributes, IncidentSearchAttributes].flatMap((keys) => Object.values(keys)).map((key, _, all): [string, SearchAttributeType] => {
    // One name is one attribute in the namespace: contracts that share it must agree on its type.
    const other = all.find((k) => k.name === key.name && k.type !== key.type);
    if (other) throw new Error(`search attribute ${key.name} is ${key.type} in one contract and ${other.type} in another`);
    return [key.name, key.type];
  }),
);

// A CommonJS module: its namespace is reached through the default export under Node's ESM loader.
const { IndexedValueType } = proto.temporal.api.enums.v1;
const indexedType: Record<SearchAttributeType, proto.temporal.api.enums.v1.IndexedValueType> = {
  KEYWORD: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
  KEYWORD_LIST: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD_LIST,
  TEXT: IndexedValueType.INDEXED_VALUE_TYPE_TEXT,
  INT: IndexedValueType.INDEXED_VALUE_TYPE_INT,
  DOUBLE: IndexedValueType.INDEXED_VALUE_TYPE_DOUBLE,
  BOOL: IndexedValueType.INDEXED_VALUE_TYPE_BOOL,
  DATETIME: IndexedValueType.INDEXED_VALUE_TYPE_DATETIME,
};

/**
 * Adds the attributes `namespace` lacks. The dev server registers them from its start flags, but
 * a server started before a contract gained one (or another namespace) learns it only here.
 */
export async function ensureSearchAttributes(connection: Connection, namespace: string): Promise<string[]> {
  const { customAttributes } = await connection.operatorService.listSearchAttributes({ namespace });
  const missing = [...SEARCH_ATTRIBUTES].filter(([name]) => !(customAttributes && name in customAttributes));
  if (missing.length > 0) await addSearchAttributes(connection, namespace, missing);
  return missing.map(([name]) => name);
}

/** Adds search attributes outright: the time-skipping test server implements this call but not the listing `ensureSearchAttributes` needs. */
export async function addSearchAttributes(connection: Connection, namespace: string, attributes: Iterable<[string, SearchAttributeType]> = SEARCH_ATTRIBUTES): Promise<void> {
  await connection.operatorService.addSearchAttributes({ namespace, searchAttributes: Object.fromEntries([...attributes].map(([name, type]) => [name, indexedType[type]])) });
}
