import { expect, test } from "bun:test";
import type { Plan } from "../../../src/defs/plan.ts";
import { agentNotes } from "../../../src/sessions/start.ts";

const plan = (provider: "claude" | "codex") =>
  ({ nodes: [{ kind: "stage", provider: { name: provider, model: null, command: null, bin: "/x" } }] }) as unknown as Plan;

test("root with claude and no IS_SANDBOX is said before the start", () => {
  expect(agentNotes(plan("claude"), 0, {})).toHaveLength(1);
  expect(agentNotes(plan("claude"), 0, { IS_SANDBOX: "1" })).toEqual([]);
  expect(agentNotes(plan("claude"), 1000, {})).toEqual([]);
  expect(agentNotes(plan("codex"), 0, {})).toEqual([]);
});
