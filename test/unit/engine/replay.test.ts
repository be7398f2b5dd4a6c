/** Progress rebuilt from the event log, and where a resumed engine picks up. */
import { describe, expect, test } from "bun:test";
import { replay, resumePoint } from "../../../src/engine/replay.ts";

describe("resumePoint", () => {
  const plan = {
    nodes: [
      { kind: "stage", id: "plan" },
      { kind: "parallel", id: "dual", providers: [{ id: "a" }, { id: "b" }], stages: [{ id: "review" }] },
    ],
  } as never;
  const done = (node: number, id: string, iteration: number, provider: string | null = null, decision = "continue") => ({
    ts: "",
    type: "iteration_complete",
    session: "s",
    cursor: { node, id, iteration, provider },
    data: { node, stage: id, provider, iteration, decision, started_at: "", ended_at: "", duration_ms: 0 },
  });

  test("the first iteration not completed, a failed one included", () => {
    expect(resumePoint(plan, replay([]))).toEqual({ run: 1, node: 0, id: "plan", iteration: 1 });
    expect(resumePoint(plan, replay([done(0, "plan", 1), done(0, "plan", 2), done(0, "plan", 3, null, "failed")]))).toEqual({ run: 1, node: 0, id: "plan", iteration: 3 });
  });

  test("in a parallel block, the provider furthest behind", () => {
    const events = [
      done(0, "plan", 1),
      { ts: "", type: "node_complete", session: "s", cursor: { node: 0, id: "plan", iteration: 1, provider: null }, data: { status: "complete" } },
      done(1, "review", 1, "a"),
      done(1, "review", 2, "a"),
      done(1, "review", 1, "b"),
    ];
    expect(resumePoint(plan, replay(events))).toEqual({ run: 1, node: 1, id: "dual", iteration: 2 });
  });
});
