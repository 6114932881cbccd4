import { z } from 'zod';

/** Names shared by dataset and check declarations (a module of its own, so neither imports the other). */

/** A plain SQL identifier: validated here, and still always quoted where it is used. */
export const SqlIdentifier = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]{0,63}$/, 'must be a plain SQL identifier (letters, digits and _, not starting with a digit, at most 64)');

/** `table` or `schema.table`. */
export const QualifiedTableName = z
  .string()
  .regex(
    /^[A-Za-z_][A-Za-z0-9_]{0,63}(\.[A-Za-z_][A-Za-z0-9_]{0,63})?$/,
    'must be `table` or `schema.table` made of plain SQL identifiers',
  );

/** An owning team: the SpokeflowTeam search attribute, the team of datasets, scans, digests and schedules. */
export const TeamSlug = z.string().regex(/^[a-z][a-z0-9-]{0,62}$/, 'must be a team slug of lower-case letters, digits and -');

export const DatasetName = z
  .string()
  .regex(
    /^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*){0,3}$/,
    'must be lower-case words of letters, digits and _ joined by dots, like `shop.orders`',
  )
  .max(120);
