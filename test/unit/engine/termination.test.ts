import { describe, expect, test } from "bun:test";
import type { TerminationPlan } from "../../../src/defs/plan.ts";
import { countItems } from "../../../src/engine/queue.ts";
import { afterIteration, trailingStops, type Decision } from "../../../src/engine/termination.ts";

const plan = (t: Partial<TerminationPlan>): TerminationPlan => ({ type: "fixed", max: 5, min_iterations: 1, consensus: 2, command: null, judge: null, ...t });
/** Feed decisions one by one, as the engine does; the iteration at which the stage ends (or null). */
function endsAt(t: TerminationPlan, decisions: Decision[]): { at: number; reason: string } | null {
  for (let n = 1; n <= decisions.length; n++) {
    const v = afterIteration(t, n, decisions.slice(0, n));
    if (v.done) return { at: n, reason: v.reason };
  }
  return null;
}

describe("fixed", () => {
  const t = plan({ type: "fixed", max: 3 });
  test("runs to max when the agent keeps going", () => {
    expect(endsAt(t, ["continue", "continue", "continue"])).toEqual({ at: 3, reason: "reached max iterations (3)" });
    expect(endsAt(t, ["continue", "continue"])).toBeNull();
  });
  test("ends early on the first stop", () => {
    expect(endsAt(t, ["continue", "stop", "continue"])).toEqual({ at: 2, reason: "agent asked to stop at iteration 2" });
    expect(endsAt(t, ["stop"])?.at).toBe(1);
  });
  test("a stop at max is reported as the agent's stop", () => {
    expect(endsAt(t, ["continue", "continue", "stop"])).toEqual({ at: 3, reason: "agent asked to stop at iteration 3" });
  });
  test("max 1 ends after one iteration", () => {
    expect(endsAt(plan({ max: 1 }), ["continue"])?.at).toBe(1);
  });
  test("a resumed stage past max ends at once", () => {
    expect(afterIteration(t, 4, ["continue", "continue", "continue", "continue"]).done).toBe(true);
  });
});

describe("judgment", () => {
  const t = plan({ type: "judgment", max: 10, min_iterations: 3, consensus: 2 });
  test("never stops before min_iterations, however many stops", () => {
    expect(afterIteration(t, 1, ["stop"]).done).toBe(false);
    expect(afterIteration(t, 2, ["stop", "stop"]).done).toBe(false);
  });
  test("stops exactly when the consensus streak is reached (at or after min)", () => {
    expect(endsAt(t, ["stop", "stop", "stop"])).toEqual({ at: 3, reason: "consensus: 3 consecutive stop decisions" });
    expect(endsAt(t, ["continue", "continue", "stop", "stop"])).toEqual({ at: 4, reason: "consensus: 2 consecutive stop decisions" });
    expect(endsAt(t, ["continue", "continue", "continue", "stop"])).toBeNull();
  });
  test("a continue breaks the streak", () => {
    expect(endsAt(t, ["continue", "continue", "stop", "continue", "stop", "continue"])).toBeNull();
    expect(endsAt(t, ["continue", "continue", "stop", "continue", "stop", "stop"])?.at).toBe(6);
  });
  test("consensus 1: the first stop at or after min ends it", () => {
    const one = plan({ type: "judgment", max: 10, min_iterations: 2, consensus: 1 });
    expect(endsAt(one, ["stop", "continue", "stop"])?.at).toBe(3);
    expect(endsAt(one, ["continue", "stop"])?.at).toBe(2);
  });
  test("max still caps it", () => {
    expect(endsAt(plan({ type: "judgment", max: 3, min_iterations: 1, consensus: 2 }), ["continue", "stop", "continue"])).toEqual({ at: 3, reason: "reached max iterations (3)" });
  });
  test("consensus asks for the judge only when one is configured", () => {
    expect(afterIteration(t, 3, ["stop", "stop", "stop"]).needsJudge).toBe(false);
    const judged = plan({ type: "judgment", min_iterations: 1, judge: { name: "claude", model: "haiku", command: null, bin: null } });
    expect(afterIteration(judged, 2, ["stop", "stop"])).toMatchObject({ done: true, needsJudge: true });
    // Reaching max needs no judge.
    expect(afterIteration({ ...judged, max: 2 }, 2, ["continue", "continue"]).needsJudge).toBeUndefined();
  });
});

describe("error and failed decisions", () => {
  test("an error or a failed iteration is never a stop and breaks a streak", () => {
    expect(trailingStops(["stop", "error", "stop"])).toBe(1);
    expect(trailingStops(["stop", "stop", "failed"])).toBe(0);
    const t = plan({ type: "judgment", max: 10, min_iterations: 1, consensus: 2 });
    expect(endsAt(t, ["stop", "error", "stop"])).toBeNull();
    expect(endsAt(plan({ type: "fixed", max: 5 }), ["error", "failed"])).toBeNull();
  });
  test("queue stages end only on max here: emptiness is checked before each iteration", () => {
    const q = plan({ type: "queue", max: 2, command: ["bd", "ready"] });
    expect(afterIteration(q, 1, ["stop"]).done).toBe(false);
    expect(afterIteration(q, 2, ["continue", "continue"]).done).toBe(true);
  });
  test("queue items: output lines; nothing, an empty JSON list or bd's 'No ready work' mean empty", () => {
    expect(countItems("")).toBe(0);
    expect(countItems("  \n\t\n")).toBe(0);
    expect(countItems("[]\n")).toBe(0);
    expect(countItems("No ready work found\n")).toBe(0);
    expect(countItems("task-1\ntask-2\n")).toBe(2);
    expect(countItems('[{"id":"a"},{"id":"b"},{"id":"c"}]')).toBe(3);
    expect(countItems("No ready work, but task-9 is blocked\nline two\n")).toBe(2);
  });
});
