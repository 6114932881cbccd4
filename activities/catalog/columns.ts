/** Column values as mysql2 hands them over, to plain JS. */

/** A numeric column (DECIMAL and SUM() come as strings); NULL counts as 0. */
export const num = (v: unknown): number => (v === null || v === undefined ? 0 : Number(v));

/** A JSON column: parsed already (JSON type) or as text (MariaDB keeps JSON as LONGTEXT). */
export const jsonValue = (v: unknown): unknown => (typeof v === 'string' ? JSON.parse(v) : v);
