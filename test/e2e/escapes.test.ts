/**
 * Terminal escapes (issue 9 #13): text that agents or the repository control never reaches a
 * person's terminal raw. Every human view of the compiled binary is fed hostile text in every place
 * it prints from; no byte below 0x20 but newline and tab, and no DEL, may come out. --json stays exact.
 */
import { afterAll, expect, test } from "bun:test";
import { appendFileSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BIN, cleanEnv, privateTmux, runDir, stateFixture, tempRoot } from "../helpers.ts";

const server = privateTmux();
afterAll(() => server.kill());

/** A small seeded PRNG (mulberry32): a failure can be replayed from its seed. */
function rng(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SEQUENCES = ["\x1b]52;c;SGVsbG8=\x07", "\x1b]0;pwned\x07", "\x1b[2J\x1b[H", "\x1b[8m", "\x1bP+q\x1b\\", "\x9b31m", "\r\x1b[K", "\x1b]8;;http://x\x1b\\link"];
const EVERY_CONTROL = String.fromCharCode(...Array.from({ length: 32 }, (_, i) => i), 0x7f, ...Array.from({ length: 32 }, (_, i) => 0x80 + i));

/** Hostile text: every control character, known attack sequences, and random mixes of them with words. */
function hostile(random: () => number, n = 40): string {
  const parts = [EVERY_CONTROL, ...SEQUENCES];
  for (let i = 0; i < n; i++) {
    const r = random();
    parts.push(r < 0.4 ? String.fromCharCode(Math.floor(random() * 32)) : r < 0.5 ? "\x7f" : r < 0.7 ? SEQUENCES[Math.floor(random() * SEQUENCES.length)]! : "word");
  }
  return parts.sort(() => random() - 0.5).join("");
}

/** Bytes a terminal acts on: C0 controls but tab and newline, and DEL. (C1 arrives UTF-8-encoded as 0xC2 0x80-0x9F.) */
function badBytes(out: Uint8Array): number[] {
  const bad: number[] = [];
  for (let i = 0; i < out.length; i++) {
    const b = out[i]!;
    if ((b < 0x20 && b !== 0x0a && b !== 0x09) || b === 0x7f || (b === 0xc2 && out[i + 1]! >= 0x80 && out[i + 1]! <= 0x9f)) bad.push(i);
  }
  return bad;
}

function run(root: string, args: string[]) {
  const r = Bun.spawnSync([BIN, ...args, "--root", root], { env: cleanEnv({ TMUX_TMPDIR: server.dir }), stdout: "pipe", stderr: "pipe" });
  return { stdout: r.stdout, stderr: r.stderr, code: r.exitCode };
}

test.each([1, 2, 3])("no control character from agent or repository text reaches human output (seed %d)", (seed) => {
  using root = tempRoot();
  const random = rng(seed);
  const h = () => hostile(random);
  const defs = join(root.path, ".claude", "pipelines");

  // Repository-controlled: a description, an unknown field's name, a pipeline's file name.
  mkdirSync(join(defs, "stages", "evil"), { recursive: true });
  const yamlText = (s: string) => JSON.stringify(s); // a JSON string is a valid double-quoted YAML scalar
  writeFileSync(join(defs, "stages", "evil", "stage.yaml"), `name: evil\ndescription: ${yamlText(h())}\n${yamlText(h())}: 1\nprovider: command\ncommand: "true"\n`);
  writeFileSync(join(defs, "stages", "evil", "prompt.md"), "Write ${STATUS}.\n");
  writeFileSync(join(defs, `bad\x1b]0;t\x07name.yaml`), `name: x\ndescription: ${yamlText(h())}\nstages: [evil]\n`);

  // Agent-controlled: summaries, reasons, an error, a waiting reason, events, engine.log.
  const session = "hostile";
  const dir = runDir(root.path, session);
  mkdirSync(dir, { recursive: true });
  const entry = (i: number) => ({
    node: 0, stage: "evil", provider: null, iteration: i, decision: i === 3 ? "failed" : "continue", reason: h(), summary: h(),
    started_at: new Date().toISOString(), ended_at: new Date().toISOString(), duration_ms: 10, exit_code: 0, error_kind: null, cost_usd: null,
  });
  const history = [1, 2, 3].map(entry);
  const error = { message: h(), kind: "exit", at: new Date().toISOString(), stage: "evil", iteration: 3 };
  const state = stateFixture(session, {
    status: "failed", target: "evil", current_stage_id: "evil", iteration: 3, iteration_completed: 2, history, waiting_reason: h(),
    error, completion_reason: h(),
  });
  writeFileSync(join(dir, "state.json"), JSON.stringify(state));
  for (const [type, data] of [["iteration_complete", history[0]], ["iteration_complete", history[1]], ["iteration_complete", history[2]], ["session_failed", { error }], ["waiting", { until: "x", reason: h() }], ["node_start", { note: h() }]] as const) {
    appendFileSync(join(dir, "events.jsonl"), `${JSON.stringify({ ts: new Date().toISOString(), type, session, cursor: { node: 0, id: "evil", iteration: 1, provider: null }, data })}\n`);
  }
  appendFileSync(join(dir, "events.jsonl"), `${h()}\n`); // a line that is not an event: reported on stderr
  writeFileSync(join(dir, "engine.log"), `${h()}\n${h()}\n`);
  // A state file that is not JSON: its parse error may quote it.
  mkdirSync(runDir(root.path, "broken"), { recursive: true });
  writeFileSync(join(runDir(root.path, "broken"), "state.json"), `{"session": ${h()}`);

  const views = [["status", session], ["list"], ["list", "--all"], ["tail", session], ["monitor", session], ["stages"], ["pipelines"], ["lint"], ["lint", "evil"], ["start", "evil"], ["status", "broken"], ["cleanup"]];
  const seen = views.map((args) => {
    const r = run(root.path, args);
    return { view: args.join(" "), printed: r.stdout.length + r.stderr.length > 0, stdout: badBytes(r.stdout).length, stderr: badBytes(r.stderr).length };
  });
  expect(seen).toEqual(views.map((args) => ({ view: args.join(" "), printed: true, stdout: 0, stderr: 0 })));

  // --json stays exact: the same hostile text, JSON-escaped.
  const doc = JSON.parse(run(root.path, ["status", session, "--json"]).stdout.toString());
  expect(doc.history.map((e: { summary: string }) => e.summary)).toEqual(history.map((e) => e.summary));
  expect(doc.error.message).toBe(error.message);
});
