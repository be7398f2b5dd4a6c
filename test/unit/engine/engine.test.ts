/**
 * Engine semantics in-process, no tmux: termination, resume from the event log, the judge, queues.
 * The agent is a small shell script that takes its decision for iteration N from line N of a file.
 */
import { describe, expect, test } from "bun:test";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Diagnostic } from "../../../src/defs/diagnostics.ts";
import { findTarget } from "../../../src/defs/find.ts";
import { buildPlan } from "../../../src/defs/resolve.ts";
import { Engine } from "../../../src/engine/engine.ts";
import { killCgroup } from "../../../src/lib/cgroup.ts";
import { EngineLog } from "../../../src/engine/log.ts";
import { readEvents } from "../../../src/store/events.ts";
import { runPaths } from "../../../src/store/paths.ts";
import { tempRoot } from "../../helpers.ts";

const AGENT = `#!/bin/sh
# decision for this iteration: line N of $1 (the last line repeats); the prompt goes to output.md
line=$(sed -n "\${PIPELINE_ITERATION}p" "$1"); [ -n "$line" ] || line=$(tail -n 1 "$1")
cat
[ "$line" = "fail" ] && exit 3
# pop: take the first task of the queue file named by $2
[ "$line" = "pop" ] && sed -i 1d "$2" && line=continue
printf '{"decision":"%s","reason":"r%s","summary":"s%s"}' "$line" "$PIPELINE_ITERATION" "$PIPELINE_ITERATION" > "$PIPELINE_STATUS"
`;

function stage(root: string, name: string, decisions: string[], termination: string, extra = "", arg = "") {
  const dir = join(root, ".claude/pipelines/stages", name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(root, "agent.sh"), AGENT, { mode: 0o755 });
  writeFileSync(join(root, `${name}.decisions`), `${decisions.join("\n")}\n`);
  writeFileSync(join(dir, "stage.yaml"), `provider: command\ncommand: ${join(root, "agent.sh")} ${join(root, `${name}.decisions`)} ${arg}\ntermination:\n${termination.replace(/^/gm, "  ")}\ndelay: 0\n${extra}`);
  writeFileSync(join(dir, "prompt.md"), "iteration ${ITERATION}; status to ${STATUS}\n");
}

async function run(root: string, target: string, session = target, resume = false) {
  const out: Diagnostic[] = [];
  const plan = buildPlan(root, findTarget(root, target), { session, resolveBins: true }, out);
  expect(out.filter((d) => d.level === "error")).toEqual([]);
  const paths = runPaths(root, session);
  mkdirSync(paths.dir, { recursive: true });
  const engine = new Engine({ plan: plan!, paths, log: new EngineLog(paths.log, null), resume, tmux: null });
  const state = await engine.run();
  await killCgroup(state.cgroup ?? null);
  return { state, history: engine.history, events: readEvents(paths.events).events };
}

describe("termination", () => {
  test("fixed: ends when the agent says stop, before max", async () => {
    using root = tempRoot({ git: false });
    stage(root.path, "f", ["continue", "stop"], "type: fixed\nmax: 5");
    const { state, history } = await run(root.path, "f");
    expect([state.status, state.completion_reason, history.map((h) => h.decision)]).toEqual(["complete", "agent asked to stop at iteration 2", ["continue", "stop"]]);
  });

  test("judgment: consensus of consecutive stops, never before min_iterations", async () => {
    using root = tempRoot({ git: false });
    stage(root.path, "j", ["stop", "stop", "continue", "stop", "stop"], "type: judgment\nmax: 9\nmin_iterations: 3\nconsensus: 2");
    const { state, history } = await run(root.path, "j");
    expect([state.completion_reason, history.length]).toEqual(["consensus: 2 consecutive stop decisions", 5]);
  });

  test("queue: checked before each iteration, ends when its command prints nothing", async () => {
    using root = tempRoot({ git: false });
    const queue = join(root.path, "queue");
    writeFileSync(queue, "a\nb\n");
    stage(root.path, "q", ["pop"], `type: queue\nmax: 9\ncommand: cat ${queue}`, "", queue);
    const { state, history, events } = await run(root.path, "q");
    expect([state.completion_reason, history.length, events.filter((e) => e.type === "queue_check").map((e) => e.data.items)]).toEqual(["queue is empty", 2, [2, 1, 0]]);
  });
});

describe("resume", () => {
  test("a failed session continues at the failed iteration; completed ones never run again", async () => {
    using root = tempRoot({ git: false });
    stage(root.path, "r", ["continue", "fail"], "type: fixed\nmax: 3");
    const first = await run(root.path, "r");
    expect([first.state.status, first.state.error?.kind, first.history.map((h) => h.decision)]).toEqual(["failed", "exit", ["continue", "failed"]]);
    writeFileSync(join(root.path, "r.decisions"), "continue\n");
    const again = await run(root.path, "r", "r", true);
    const runs = again.events.filter((e) => e.type === "iteration_start").map((e) => e.cursor?.iteration);
    expect([again.state.status, again.state.attempts, runs]).toEqual(["complete", 2, [1, 2, 2, 3]]);
    expect(again.history.filter((h) => h.decision !== "failed").map((h) => h.iteration)).toEqual([1, 2, 3]);
  });
});

describe("the judge", () => {
  test("gets the verdict path even when the agent's output says {verdict} and $&", async () => {
    using root = tempRoot({ git: false });
    const judge = join(root.path, "judge.sh");
    // The judge reads its prompt and writes the verdict to the path the prompt names.
    writeFileSync(judge, `#!/bin/sh\npath=$(sed -n 's/^Write your verdict as JSON to the file \\(.*\\), and nothing else.*/\\1/p')\nprintf '{"stop": true, "reason": "done"}' > "$path"\n`, { mode: 0o755 });
    stage(root.path, "jj", ["stop"], `type: judgment\nmax: 5\nconsensus: 1\njudge: { provider: command, command: ${judge} }`, "context: 'print {verdict} and $& please'\n");
    writeFileSync(join(root.path, ".claude/pipelines/stages/jj/prompt.md"), "${CONTEXT} {verdict} $& $' {history}\n");
    const { state, events } = await run(root.path, "jj");
    expect(events.filter((e) => e.type === "judge_complete").map((e) => e.data)).toEqual([{ status: "ok", stop: true, reason: "done" }]);
    expect(state.status).toBe("complete");
    expect(readFileSync(join(runPaths(root.path, "jj").dir, "stage-00-jj/iterations/001/judge.json"), "utf8")).toContain('"stop": true');
  });
});

describe("after a crash", () => {
  test("an engine that died while the judge ran: resume asks the judge again, it runs no extra iteration", async () => {
    using root = tempRoot({ git: false });
    const judge = join(root.path, "judge.sh");
    writeFileSync(judge, `#!/bin/sh\npath=$(sed -n 's/^Write your verdict as JSON to the file \\(.*\\), and nothing else.*/\\1/p')\nprintf '{"stop": true}' > "$path"\n`, { mode: 0o755 });
    stage(root.path, "jc", ["continue", "stop"], `type: judgment\nmax: 5\nconsensus: 1\njudge: { provider: command, command: ${judge} }`);
    await run(root.path, "jc");
    // Cut the log right after the judge started, as a SIGKILL of the engine would have left it.
    const file = runPaths(root.path, "jc").events;
    const lines = readFileSync(file, "utf8").trim().split("\n");
    writeFileSync(file, `${lines.slice(0, lines.findIndex((l) => JSON.parse(l).type === "judge_start") + 1).join("\n")}\n`);
    const again = await run(root.path, "jc", "jc", true);
    const types = again.events.map((e) => e.type);
    expect([again.state.status, types.filter((t) => t === "iteration_start").length, types.filter((t) => t === "judge_start").length]).toEqual(["complete", 2, 2]);
  });

  test("an attempt whose agent finished after its engine died is completed from its status.json, not run again", async () => {
    using root = tempRoot({ git: false });
    stage(root.path, "rc", ["continue", "continue", "stop"], "type: fixed\nmax: 5");
    await run(root.path, "rc");
    // Drop iteration 2's completion and everything after: its status.json is on disk, valid.
    const file = runPaths(root.path, "rc").events;
    const lines = readFileSync(file, "utf8").trim().split("\n");
    const cut = lines.findIndex((l) => JSON.parse(l).type === "iteration_complete" && JSON.parse(l).cursor.iteration === 2);
    writeFileSync(file, `${lines.slice(0, cut).join("\n")}\n`);
    const again = await run(root.path, "rc", "rc", true);
    const starts = again.events.filter((e) => e.type === "iteration_start").map((e) => e.cursor?.iteration);
    expect([again.state.status, again.state.iteration_completed, starts]).toEqual(["complete", 3, [1, 2, 3]]);
    expect(again.history.map((h) => [h.iteration, h.decision, h.recovered ?? false])).toEqual([[1, "continue", false], [2, "continue", true], [3, "stop", false]]);
  });
});
