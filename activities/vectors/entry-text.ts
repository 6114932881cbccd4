import { createHash } from 'node:crypto';

/** What the catalog says about one dataset: the facts its search text is built from. */
export interface CatalogEntry {
  dataset: string;
  description: string;
  owner: string;
  team: string;
  tags: string[];
  /** In ordinal order; `doc` when the catalog documents the column. */
  columns: { name: string; type: string; doc?: string }[];
}

/** Long descriptions are cut: the model reads 256 tokens at most, and tokenising more costs time. */
const MAX_DESCRIPTION = 1_500;
const MAX_COLUMNS = 60;

/**
 * The one text embedded for a catalog entry. Its order is fixed (the hash of this text is what
 * says "changed"), tags and columns keep the catalog's order, and whitespace is normalised so that
 * an edit that changes nothing a reader sees changes nothing here either. Column types are left
 * out: they say little about what the data means, and the model's time grows with every token
 * (about 3x from 40 to 115 tokens here).
 */
export function buildEntryText(e: CatalogEntry): string {
  const clean = (s: string) => s.replace(/\s+/g, ' ').trim();
  const lines = [`dataset ${e.dataset}`];
  const description = clean(e.description);
  if (description) lines.push(`description: ${description.slice(0, MAX_DESCRIPTION)}`);
  if (e.columns.length) {
    const columns = e.columns.slice(0, MAX_COLUMNS).map((c) => {
      const doc = c.doc ? clean(c.doc) : '';
      return doc ? `${c.name} (${doc})` : c.name;
    });
    lines.push(`columns: ${columns.join(', ')}${e.columns.length > MAX_COLUMNS ? `, and ${e.columns.length - MAX_COLUMNS} more` : ''}`);
  }
  if (e.tags.length) lines.push(`tags: ${e.tags.map(clean).join(', ')}`);
  lines.push(`owner: ${clean(e.owner)}`, `team: ${e.team}`);
  return lines.join('\n');
}

/** SHA-256 of the text: an entry is embedded again only when this (or the model) changes. */
export const contentHash = (text: string): string => createHash('sha256').update(text, 'utf8').digest('hex');
