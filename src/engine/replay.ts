import * as v from "valibot";
import type { SessionEvent } from "../store/events.ts";
import { HistoryEntrySchema, type HistoryEntry } from "../store/state.ts";
import type { Decision } from "./termination.ts";

/** A stage's progress, keyed by node index, provider and stage id (a parallel block has several). */
export const progressKey = (node: number, provider: string | null, stage: string) => `${node}/${provider ?? ""}/${stage}`;

export interface StageProgress {
  completed: number;
  decisions: Decision[];
  done: boolean;
}

export interface Replay {
  history: HistoryEntry[];
  stages: Map<string, StageProgress>;
  nodesDone: Set<number>;
  costUsd: number;
  failures: number;
}

/**
 * Rebuild progress from the event log, the source of truth for resume: an iteration is completed
 * when its iteration_complete event says the agent finished it (decision other than `failed`).
 */
export function replay(events: SessionEvent[]): Replay {
  const r: Replay = { history: [], stages: new Map(), nodesDone: new Set(), costUsd: 0, failures: 0 };
  const get = (k: string) => {
    let s = r.stages.get(k);
    if (!s) r.stages.set(k, (s = { completed: 0, decisions: [], done: false }));
    return s;
  };
  for (const e of events) {
    if (e.type === "iteration_complete") {
      const h = v.safeParse(HistoryEntrySchema, e.data);
      if (!h.success) continue;
      const entry = h.output;
      r.history.push(entry);
      r.costUsd += entry.cost_usd ?? 0;
      if (entry.decision === "failed") {
        r.failures++;
        continue;
      }
      const s = get(progressKey(entry.node, entry.provider, entry.stage));
      // Only the next iteration in order counts: a duplicate or a gap is evidence of a bug, not progress.
      if (entry.iteration === s.completed + 1) {
        s.completed = entry.iteration;
        s.decisions.push(entry.decision);
      }
    } else if (e.type === "stage_complete" && e.cursor) {
      get(progressKey(e.cursor.node, e.cursor.provider ?? null, e.cursor.id)).done = true;
    } else if (e.type === "node_complete" && e.cursor && e.data.status === "complete") {
      r.nodesDone.add(e.cursor.node);
    }
  }
  return r;
}
