import { ConfigSchema } from '../runtime/config.js';

// Prints the configuration reference of the README from the config schema itself.
const rows = Object.entries(ConfigSchema.shape).map(([name, schema]) => {
  const def = (schema as { def?: { defaultValue?: unknown } }).def?.defaultValue;
  const description = (schema as { description?: string }).description ?? '';
  return `| \`${name}\` | \`${String(def ?? '')}\` | ${description} |`;
});
console.log(['| variable | default | meaning |', '|---|---|---|', ...rows].join('\n'));
