import { truthy } from '../../../common/pipeline/expr.js';
import { evaluateField } from '../../../common/pipeline/node-io.js';
import type { Module } from '../../../common/pipeline/spec.js';
import { runList } from '../graph.js';
import { setNode, tracked, type NodeValue, type PipelineRun, type Scope } from '../state.js';

/** The first branch whose expression holds, else the default; gives the last output of what ran. */
export async function runBranchOneNode(run: PipelineRun, m: Module, v: NodeValue<'branchone'>, scope: Scope): Promise<unknown> {
  const branch = v.branches.findIndex((b, i) => truthy(evaluateField(m.id, `branches.${i}.expr`, b.expr, scope)));
  if (tracked(scope)) setNode(run, m.id, { branch });
  const chosen = branch >= 0 ? v.branches[branch]!.modules : v.default;
  return (await runList(run, chosen, scope, false)).last;
}
