/** The judge's prompt: what the agents wrote goes in as written, and the verdict path is never lost. */
import { expect, test } from "bun:test";
import { judgePrompt } from "../../../src/engine/judge.ts";

test("agent text with {verdict}, {history}, $&, $` and $' cannot corrupt the prompt", () => {
  const output = "I wrote {verdict} and {history} and $& and $` and $' and $$ here";
  const history = "- iteration 1: stop — {output} {verdict} $&";
  const prompt = judgePrompt({ stage: "plan", iteration: "3", output, history, verdict: "/run/judge.json" });
  expect(prompt).toContain(`---\n${output}\n---`);
  expect(prompt).toContain(`Recent history (newest last):\n${history}\n`);
  expect(prompt).toContain("Write your verdict as JSON to the file /run/judge.json, and nothing else");
  expect(prompt).toContain('stage "plan" have voted\nto stop after iteration 3.');
  expect(prompt.split("/run/judge.json").length).toBe(2);
});
