import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';

// ajv-formats is CommonJS; its default export arrives wrapped under ESM.
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as unknown as (
  ajv: Ajv2020,
) => Ajv2020;

/** The flow's `schema` (JSON Schema) as a validator of run inputs; errors name the field. */
export function compileInputSchema(schema: Record<string, unknown> | undefined): (input: unknown) => string[] {
  if (!schema) return () => [];
  // strict off: Windmill writes its own keywords (format: "", order, showExpr) into schemas.
  const ajv = addFormats(new Ajv2020({ strict: false, allErrors: true, validateFormats: true }));
  const body = { ...schema };
  delete body.$schema; // Windmill's draft URL; the 2020-12 validator is ours
  const validate = ajv.compile(body);
  return (input) =>
    validate(input)
      ? []
      : (validate.errors ?? []).map((e) => {
          const field =
            (e.instancePath.replace(/^\//, '').replaceAll('/', '.') || (e.params as { missingProperty?: string }).missingProperty) ?? '';
          return `${field ? `${field}: ` : ''}${e.message ?? 'is invalid'}`;
        });
}
