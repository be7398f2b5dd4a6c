// Rebuilding a session's progress from events.jsonl, the source of truth: its history, each stage's
// completed iterations and decisions, and where a resumed engine picks up.
import type { Plan } from "../defs/plan.ts";
import { historyEntryOf, type SessionEvent } from "../store/events.ts";
import type { HistoryEntry } from "../store/state.ts";
import type { Decision } from "./termination.ts";

/** A stage's progress, keyed by run, node index, provider and stage id (a parallel block has several). */
export const progressKey = (run: number, node: number, provider: string | null, stage: string) => `${run}/${node}/${provider ?? ""}/${stage}`;
/** A node of one run, in `nodesDone`. */
export const nodeKey = (run: number, node: number) => `${run}/${node}`;

export interface StageProgress {
  completed: number;
  decisions: Decision[];
  done: boolean;
  /** The iteration after which the judge last gave a verdict (0: never). */
  judged: number;
}

export interface Replay {
  history: HistoryEntry[];
  stages: Map<string, StageProgress>;
  /** nodeKey(run, node) of every node completed. */
  nodesDone: Set<string>;
}

/**
 * An iteration is completed when its iteration_complete event says the agent finished it
 * (decision other than `failed`).
 */
export function replay(events: SessionEvent[]): Replay {
  const r: Replay = { history: [], stages: new Map(), nodesDone: new Set() };
  const get = (k: string) => {
    let s = r.stages.get(k);
    if (!s) r.stages.set(k, (s = { completed: 0, decisions: [], done: false, judged: 0 }));
    return s;
  };
  for (const e of events) {
    const entry = historyEntryOf(e);
    if (entry) {
      r.history.push(entry);
      if (entry.decision === "failed") continue;
      const s = get(progressKey(entry.run ?? 1, entry.node, entry.provider, entry.stage));
      // Only the next iteration in order counts: a duplicate or a gap is evidence of a bug, not progress.
      if (entry.iteration === s.completed + 1) {
        s.completed = entry.iteration;
        s.decisions.push(entry.decision as Decision);
      }
    } else if (e.type === "judge_complete" && e.cursor) {
      get(progressKey(e.cursor.run ?? 1, e.cursor.node, e.cursor.provider ?? null, e.cursor.id)).judged = e.cursor.iteration;
    } else if (e.type === "stage_complete" && e.cursor) {
      get(progressKey(e.cursor.run ?? 1, e.cursor.node, e.cursor.provider ?? null, e.cursor.id)).done = true;
    } else if (e.type === "node_complete" && e.cursor && e.data.status === "complete") {
      r.nodesDone.add(nodeKey(e.cursor.run ?? 1, e.cursor.node));
    }
  }
  return r;
}

export interface ResumePoint {
  /** The run (1-based) of a plan that runs several times. */
  run: number;
  node: number;
  id: string | null;
  iteration: number;
}

/** The first run with a node not complete, that node and, in it, the first iteration not completed (the lowest among parallel providers). */
export function resumePoint(plan: Plan, done: Replay): ResumePoint {
  const runs = plan.runs ?? 1;
  for (let run = 1; run <= runs; run++) {
    const next = (node: number, provider: string | null, stage: string) => {
      const p = done.stages.get(progressKey(run, node, provider, stage));
      return (p?.completed ?? 0) + (p?.done ? 0 : 1);
    };
    for (let i = 0; i < plan.nodes.length; i++) {
      if (done.nodesDone.has(nodeKey(run, i))) continue;
      const n = plan.nodes[i]!;
      if (n.kind === "stage") return { run, node: i, id: n.id, iteration: next(i, null, n.id) };
      const firsts = n.providers.map((p) => {
        const open = n.stages.find((s) => !done.stages.get(progressKey(run, i, p.id, s.id))?.done);
        return open ? next(i, p.id, open.id) : Infinity;
      });
      const first = Math.min(...firsts);
      return { run, node: i, id: n.id, iteration: Number.isFinite(first) ? first : 0 };
    }
  }
  return { run: runs, node: plan.nodes.length, id: null, iteration: 0 };
}

/** Iterations that were started and never completed (an engine that died while its agent ran), oldest first. */
export function unfinished(events: SessionEvent[]): SessionEvent[] {
  const key = (e: SessionEvent) => (e.cursor ? `${progressKey(e.cursor.run ?? 1, e.cursor.node, e.cursor.provider ?? null, e.cursor.id)}#${e.cursor.iteration}` : "");
  const open = new Map<string, SessionEvent>();
  for (const e of events) {
    if (e.type === "iteration_start" && e.cursor) open.set(key(e), e);
    else if (e.type === "iteration_complete") open.delete(key(e));
  }
  return [...open.values()];
}
