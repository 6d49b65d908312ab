// Public surface of the dangerous-goods rules core (pure: no I/O; callers load data/ themselves).
export {
  buildCatalogue,
  deriveEntry,
  hmtRowSchema,
  normalizeUnNumber,
  parseHazardClass,
  parseQuantityLimit,
  resolveItem,
  splitTechnicalName,
} from './catalogue.js';
export type {
  Catalogue,
  CatalogueEntry,
  CompatibilityGroup,
  HazardZone,
  HmtRow,
  ItemQuery,
  PackingGroup,
  PhysicalState,
  QuantityLimit,
  Resolution,
  ResolutionProblem,
  ResolutionPurpose,
} from './catalogue.js';
export { MAX_ITEMS, MAX_QUANTITY, UNITS, formatPath, loadItemSchema, loadSchema, parseLoad, resolveLoad } from './load.js';
export type { FieldError, Load, LoadItem, LoadProblem, LoadResolution, ParseResult, ResolvedItem, Unit } from './load.js';
export { TABLE_COLUMNS, checkCompatibility, compileSegregationRules, segregationTableSchema } from './segregation.js';
export type { CompatibilityResult, Conflict, Indeterminate, Note, SegregationItem, SegregationRules, SegregationTableData, Severity, Verdict } from './segregation.js';
export { determinePlacards } from './placards.js';
export type { Placard, PlacardAlternative, PlacardItem, PlacardOptions, PlacardReason, PlacardResult, Regime } from './placards.js';
export { EXPIRY_WARNING_DAYS, MODES, assessCompliance, complianceInputSchema } from './compliance.js';
export type { CheckStatus, ComplianceCheck, ComplianceInput, ComplianceReport, Mode, OverallStatus } from './compliance.js';
