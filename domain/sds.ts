/**
 * The safety data sheet library's rules. An SDS belongs to a product (its name, compared without
 * regard to case or spacing: one product's revisions may come from different suppliers); the
 * newest revision of a product is its current SDS (on the same revision date, the one recorded
 * last); an SDS whose revision date is more than five years before the day asked about is flagged
 * as expired: the model Work Health and Safety Regulations (r 330(3)(a), as adopted in each
 * Australian jurisdiction) have the manufacturer or importer review an SDS at least once every
 * five years. The caller gives the date: the domain never reads the clock.
 */

export const SDS_REVIEW_YEARS = 5;
export const SDS_REVIEW_CITATION = 'model WHS Regulations r 330(3)(a): the manufacturer or importer reviews an SDS at least once every 5 years';

/** The key that makes revisions one product's: case- and whitespace-insensitive. */
export const productKey = (product: string) => product.normalize('NFKC').toLowerCase().replace(/\s+/g, ' ').trim();

export interface SdsRevision {
  id: string;
  product: string;
  /** YYYY-MM-DD */
  revisionDate: string;
  /** When it was recorded: breaks a tie between two revisions of one date. */
  createdAt: string;
}

/** Whether `candidate` supersedes `held` as its product's current revision. */
const newer = (candidate: SdsRevision, held: SdsRevision) =>
  candidate.revisionDate !== held.revisionDate ? candidate.revisionDate > held.revisionDate : candidate.createdAt !== held.createdAt ? candidate.createdAt > held.createdAt : candidate.id > held.id;

/** The ids of the current revisions among `revisions`: one per product. */
export function currentRevisionIds(revisions: readonly SdsRevision[]): Set<string> {
  const best = new Map<string, SdsRevision>();
  for (const revision of revisions) {
    const key = productKey(revision.product);
    const held = best.get(key);
    if (!held || newer(revision, held)) best.set(key, revision);
  }
  return new Set([...best.values()].map((revision) => revision.id));
}

/** The last day an SDS of this revision date is within its review period (same day and month, five years on; 29 February → 28 February). */
export function reviewDueOn(revisionDate: string): string {
  const [year, month, day] = revisionDate.split('-').map(Number) as [number, number, number];
  const due = new Date(Date.UTC(year + SDS_REVIEW_YEARS, month - 1, day));
  // 29 February of a leap year five years on lands on 1 March: the period ends on the 28th.
  if (due.getUTCMonth() !== month - 1) due.setUTCDate(0);
  return due.toISOString().slice(0, 10);
}

/** An SDS revised more than five years before `asOf` (both YYYY-MM-DD) is expired. */
export const isExpired = (revisionDate: string, asOf: string) => asOf > reviewDueOn(revisionDate);
