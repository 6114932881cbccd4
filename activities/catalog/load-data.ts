/**
 * MySQL's LOAD DATA text format, as the silver loads and the health upserts write it: fields
 * separated by tabs, rows by newlines, `\N` for NULL, backslash escapes.
 */
const TSV_SPECIAL = /[\\\t\n\r\0]/;
const TSV_ESCAPES: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r', '\0': '\\0' };

/** One field as LOAD DATA (ESCAPED BY backslash) reads it back. */
export function tsvField(value: string | null): string {
  if (value === null) return '\\N';
  return TSV_SPECIAL.test(value) ? value.replace(/[\\\t\n\r\0]/g, (c) => TSV_ESCAPES[c]!) : value;
}
