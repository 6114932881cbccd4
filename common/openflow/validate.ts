import { compileInputSchema } from './input-schema.js';
import { FEATURES, RAWSCRIPT_LANGUAGES, type FeatureStatus } from './features.js';
import { OpenFlow, nestedModules, type FlowModule } from './schema.js';

export interface FlowCheck {
  flow?: OpenFlow;
  /** One line each, naming the step and the field. */
  problems: string[];
  /** `script` and `flow` paths no declared table or imported file resolves (yet). */
  scriptPaths: string[];
}

/** Windmill's default step ids (a, b, … z, aa, …) for old files that leave them out. */
function defaultId(n: number): string {
  let id = '';
  for (let i = n + 1; i > 0; i = Math.floor((i - 1) / 26)) id = String.fromCharCode(97 + ((i - 1) % 26)) + id;
  return id;
}

/** The older JSON shape: `input_transforms` (or `input_transform`) beside `value`, no id. */
function normalizeModules(modules: unknown): void {
  if (!Array.isArray(modules)) return;
  modules.forEach((m: unknown, i) => normalizeModule(m, defaultId(i)));
}
function normalizeModule(m: unknown, fallbackId: string): void {
  if (typeof m !== 'object' || m === null) return;
  const mod = m as Record<string, unknown>;
  if (mod.id === undefined) mod.id = fallbackId;
  const value = mod.value as Record<string, unknown> | undefined;
  const outer = mod.input_transforms ?? mod.input_transform;
  if (value && outer !== undefined && value.input_transforms === undefined) value.input_transforms = outer;
  delete mod.input_transforms;
  delete mod.input_transform;
  if (!value) return;
  normalizeModules(value.modules);
  normalizeModules(value.default);
  if (Array.isArray(value.branches)) for (const b of value.branches as { modules?: unknown }[]) normalizeModules(b?.modules);
}

/** The id of the innermost step on a path into the raw file. */
function stepAt(raw: unknown, path: PropertyKey[]): string | undefined {
  let at: unknown = raw;
  let id: string | undefined;
  for (const key of path) {
    if (typeof at !== 'object' || at === null) break;
    at = (at as Record<PropertyKey, unknown>)[key];
    const candidate = typeof at === 'object' && at !== null && !Array.isArray(at) ? (at as { id?: unknown; value?: unknown }) : undefined;
    if (candidate && typeof candidate.id === 'string' && candidate.value !== undefined) id = candidate.id;
  }
  return id;
}

function refusal(status: FeatureStatus): string | undefined {
  return status.status === 'refused' ? status.reason : undefined;
}

/** Structure (zod), then every field the feature table refuses, then Windmill's own rules. */
export function checkFlow(raw: unknown): FlowCheck {
  if (typeof raw === 'object' && raw !== null) {
    const value = (raw as { value?: Record<string, unknown> }).value;
    if (value) {
      normalizeModules(value.modules);
      if (value.failure_module) normalizeModule(value.failure_module, 'failure');
      if (value.preprocessor_module) normalizeModule(value.preprocessor_module, 'preprocessor');
    }
  }
  const parsed = OpenFlow.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => {
      const step = stepAt(raw, issue.path);
      const field = issue.path.join('.');
      return `${step ? `step '${step}': ` : ''}${field ? `${field}: ` : ''}${issue.message}`;
    });
    return { problems, scriptPaths: [] };
  }
  const flow = parsed.data;
  const problems: string[] = [];
  const scriptPaths = new Set<string>();
  const seen = new Set<string>();

  for (const field of Object.keys(flow.value)) {
    const reason = refusal((FEATURES as Record<string, FeatureStatus>)[`value.${field}`] ?? { status: 'runs' });
    if (reason) problems.push(`value.${field}: ${reason}`);
  }

  const visit = (m: FlowModule): void => {
    const step = `step '${m.id}'`;
    if (seen.has(m.id)) problems.push(`${step}: id is used by another step`);
    seen.add(m.id);
    for (const option of Object.keys(m)) {
      const reason = refusal((FEATURES as Record<string, FeatureStatus>)[`module.${option}`] ?? { status: 'runs' });
      if (reason) problems.push(`${step}: ${option}: ${reason}`);
    }
    const retry = m.retry as { retry_if?: unknown } | undefined;
    if (retry?.retry_if !== undefined) problems.push(`${step}: retry.retry_if: ${refusal(FEATURES['module.retry.retry_if'])}`);
    const suspend = m.suspend as { user_groups_required?: unknown; resume_form?: { schema?: Record<string, unknown> } } | undefined;
    if (suspend?.user_groups_required !== undefined)
      problems.push(`${step}: suspend.user_groups_required: ${refusal(FEATURES['module.suspend.user_groups_required'])}`);
    const form = suspend?.resume_form?.schema;
    if (form) {
      try {
        compileInputSchema(form);
      } catch (err) {
        problems.push(`${step}: suspend.resume_form.schema: not a JSON Schema ajv compiles: ${(err as Error).message}`);
      }
    }
    const v = m.value;
    const typeReason = refusal((FEATURES as Record<string, FeatureStatus>)[`type.${v.type}`] ?? { status: 'runs' });
    if (typeReason) problems.push(`${step}: value.type '${v.type}': ${typeReason}`);
    switch (v.type) {
      case 'rawscript':
        if (!(v.language in RAWSCRIPT_LANGUAGES)) problems.push(`${step}: rawscript language '${v.language}' is not supported`);
        if (v.tag !== undefined) problems.push(`${step}: value.tag: ${refusal(FEATURES['rawscript.tag'])}`);
        break;
      case 'script':
      case 'flow':
        scriptPaths.add(v.path);
        break;
      case 'whileloopflow':
        // Windmill loops until a stop condition; spokeflow requires one so a run cannot spin forever.
        if (m.stop_after_if === undefined && !v.modules.some((inner) => inner.stop_after_if !== undefined))
          problems.push(`${step}: whileloopflow needs a stop_after_if (on the loop or one of its steps)`);
        break;
      default:
        break;
    }
    nestedModules(v).forEach(visit);
    if (m.stop_after_all_iters_if !== undefined && !['forloopflow', 'whileloopflow', 'branchall'].includes(v.type))
      problems.push(`${step}: stop_after_all_iters_if: only for loops and branchall`);
  };
  flow.value.modules.forEach(visit);
  const early = flow.value.early_return;
  if (early !== undefined && !flow.value.modules.some((m) => m.id === early))
    problems.push(`value.early_return: '${early}' is not a step of value.modules (the top-level list)`);
  if (flow.value.failure_module) visit(flow.value.failure_module as FlowModule);
  if (flow.value.preprocessor_module) visit(flow.value.preprocessor_module as FlowModule);
  return { flow, problems, scriptPaths: [...scriptPaths].sort() };
}
