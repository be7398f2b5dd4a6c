// Budgets: whether the spend so far has reached the session's, a parallel block's or a stage's
// figure, checked before each iteration.
import type { BudgetPlan } from "../defs/plan.ts";
import { usd } from "../lib/output.ts";
import { selfName } from "../lib/proc.ts";
import { budgetInForce, type Control } from "../store/control.ts";
import { spendOf } from "../store/state.ts";
import type { Host, StageRun } from "./host.ts";

/**
 * Before an iteration: the budget it would pass, if the spend so far has reached one (the
 * session's, its parallel block's, its stage's in this run; a block's and a stage's count every
 * provider). A figure a resume set replaces the session's and lifts the stage's and block's.
 */
export function overBudget(h: Pick<Host, "plan" | "history" | "state">, o: Control["budget"], sr: StageRun): string | null {
  const lift = (b: BudgetPlan | null | undefined): BudgetPlan | null => (b ? { usd: o?.usd != null ? null : b.usd, tokens: o?.tokens != null ? null : b.tokens } : null);
  const node = h.plan.nodes[sr.node]!;
  const inNode = h.history.filter((e) => e.node === sr.node && (e.run ?? 1) === sr.run);
  const checks: [string, BudgetPlan | null, () => { cost_usd: number | null; tokens: number }][] = [
    ["the session's", budgetInForce(h.plan.budget, { budget: o, pause: false, context: null }), () => h.state.spend ?? spendOf([])],
    [`parallel block ${node.id}'s`, node.kind === "parallel" ? lift(node.budget) : null, () => spendOf(inNode)],
    [`stage ${sr.stage.id}'s`, lift(sr.stage.budget), () => spendOf(inNode.filter((e) => e.stage === sr.stage.id))],
  ];
  for (const [whose, b, spent] of checks) {
    if (!b) continue;
    const s = spent();
    const more = (flag: string) => `'${selfName()} resume ${h.plan.session} --budget-${flag} <more>' continues`;
    if (b.usd !== null && s.cost_usd !== null && s.cost_usd >= b.usd) return `budget reached: ${usd(s.cost_usd)} spent, ${whose} budget is ${usd(b.usd)}; ${more("usd")}`;
    if (b.tokens !== null && s.tokens >= b.tokens) return `budget reached: ${s.tokens} tokens spent, ${whose} budget is ${b.tokens} tokens; ${more("tokens")}`;
  }
  return null;
}
