/**
 * `bun run bench`: the performance budgets, measured on the compiled binary. Prints numbers;
 * exits non-zero when a median is over its budget.
 */
import { mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BIN, cleanEnv } from "../helpers.ts";

const root = realpathSync(mkdtempSync(join(tmpdir(), "sessions-bench-")));
const tmuxDir = realpathSync(mkdtempSync(join(tmpdir(), "sessions-bench-tmux-")));
const env = cleanEnv({ TMUX_TMPDIR: tmuxDir });

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const p90 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length * 0.9)]!;

function time(args: string[], n: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    const r = Bun.spawnSync([BIN, ...args], { env, cwd: root, stdout: "pipe", stderr: "pipe" });
    out.push(performance.now() - t);
    if (r.exitCode !== 0) throw new Error(`${args.join(" ")} exited ${r.exitCode}: ${r.stderr.toString()}`);
  }
  return out;
}

const results: { name: string; median: number; p90: number; budget: number; unit: string }[] = [];
const record = (name: string, xs: number[], budget: number, unit = "ms") => {
  results.push({ name, median: median(xs), p90: p90(xs), budget, unit });
  console.log(`${name.padEnd(52)} median ${median(xs).toFixed(2).padStart(8)} ${unit}  p90 ${p90(xs).toFixed(2).padStart(8)} ${unit}  (budget ${budget} ${unit}, n=${xs.length})`);
};

function stage(name: string, command: string, max: number) {
  const dir = join(root, ".claude/pipelines/stages", name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "stage.yaml"), `name: ${name}\nprovider: command\ncommand: ${command}\ntermination:\n  type: fixed\n  max: ${max}\ndelay: 0\n`);
  writeFileSync(join(dir, "prompt.md"), "Iteration ${ITERATION}: write ${STATUS}\n");
}

/** A compiled Bun hello-world: the floor any compiled binary's start-up stands on. */
function helloWorld(): string {
  const dir = realpathSync(mkdtempSync(join(tmpdir(), "sessions-bench-hello-")));
  writeFileSync(join(dir, "hello.ts"), 'console.log("hello");\n');
  const r = Bun.spawnSync(["bun", "build", "--compile", "--minify", join(dir, "hello.ts"), "--outfile", join(dir, "hello")], { stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`could not compile the hello-world: ${r.stderr.toString()}`);
  return join(dir, "hello");
}

function timeBin(bin: string, n: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    Bun.spawnSync([bin], { env, stdout: "pipe", stderr: "pipe" });
    out.push(performance.now() - t);
  }
  return out;
}

try {
  // 1. --version against a compiled hello-world, interleaved so both see the same machine load.
  const hello = helloWorld();
  const versions: number[] = [];
  const hellos: number[] = [];
  for (let i = 0; i < 40; i++) {
    hellos.push(...timeBin(hello, 1));
    versions.push(...time(["--version"], 1));
  }
  record("compiled Bun hello-world (reference)", hellos, Infinity);
  record("--version (budget: 1.5 × the hello-world)", versions, 1.5 * median(hellos));
  rmSync(join(hello, ".."), { recursive: true, force: true });

  // 2. Engine overhead per iteration: wall time between iteration starts minus the agent's own run time.
  stage("fast", `sh -c 'echo {\\"decision\\":\\"continue\\"} > "$PIPELINE_STATUS"'`, 51);
  time(["start", "fast", "--foreground", "--root", root], 1);
  const events = readFileSync(join(root, ".claude/pipeline-runs/fast/events.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l));
  const starts = events.filter((e) => e.type === "iteration_start").map((e) => Date.parse(e.ts));
  const durations = events.filter((e) => e.type === "iteration_complete").map((e) => e.data.duration_ms as number);
  const overhead: number[] = [];
  for (let i = 0; i + 1 < starts.length && overhead.length < 50; i++) overhead.push(starts[i + 1]! - starts[i]! - durations[i]!);
  record("engine overhead per iteration (50 iterations)", overhead, 5);
  // Event times are whole milliseconds: the mean over the run gives the sub-millisecond figure.
  const mean = overhead.reduce((a, b) => a + b, 0) / overhead.length;
  console.log(`${"  mean of the same".padEnd(52)} ${mean.toFixed(2).padStart(15)} ms`);

  // 3. start → engine confirmed running (tmux).
  stage("idle", "sleep 60", 1);
  const starts2: number[] = [];
  for (let i = 0; i < 15; i++) {
    const t = performance.now();
    const r = Bun.spawnSync([BIN, "start", "idle", `idle-${i}`, "--root", root], { env, stdout: "pipe", stderr: "pipe" });
    starts2.push(performance.now() - t);
    if (r.exitCode !== 0) throw new Error(`start exited ${r.exitCode}: ${r.stderr.toString()}`);
  }
  record("start until the engine is confirmed running", starts2, 250);
  Bun.spawnSync(["tmux", "kill-server"], { env });

  // 4. list of 1,000 sessions × 200 iterations, 5. status of a 1,000-iteration session (synthetic run dirs).
  const big = realpathSync(mkdtempSync(join(tmpdir(), "sessions-bench-list-")));
  const at = new Date().toISOString();
  const entry = (i: number) => ({
    node: 0, stage: "work", provider: null, iteration: i, decision: "continue", reason: "more to do", summary: `did step ${i} of the plan`,
    started_at: at, ended_at: at, duration_ms: 60_000, exit_code: 0, error_kind: null, cost_usd: 0.12,
    files_touched: ["src/a.ts", "src/b.ts"], items_completed: [`task-${i}`],
  });
  const state = (name: string, n: number) => ({
    session: name, type: "loop", target: "work", status: "complete", pid: 999_999, pid_start: "1", host: "bench", started_at: new Date(Date.now() - 3_600_000).toISOString(),
    updated_at: at, completed_at: at, current_stage: 0, iteration: n, iteration_completed: n, iteration_started: null, agent_pgids: [], agent_output: null,
    stall_after: 900, pause_requested: false, waiting_until: null, waiting_reason: null, attempts: 1, tmux: null,
    stages: [{ index: 0, id: "work", stage: "work", kind: "stage", status: "complete", iterations: n, max: n, started_at: null, completed_at: null, reason: "max" }],
    completion_reason: "reached max iterations", error: null,
  });
  const eventLines = (name: string, n: number) => Array.from({ length: n }, (_, i) => JSON.stringify({ ts: at, type: "iteration_complete", session: name, cursor: { node: 0, id: "work", iteration: i + 1, provider: null }, data: entry(i + 1) })).join("\n") + "\n";
  const write = (name: string, n: number) => {
    const dir = join(big, ".claude/pipeline-runs", name);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "state.json"), `${JSON.stringify(state(name, n))}\n`);
    writeFileSync(join(dir, "events.jsonl"), eventLines(name, n));
  };
  for (let i = 0; i < 1000; i++) write(`s-${i}`, 200);
  write("huge", 1000);
  record("list --json, 1,000 sessions × 200 iterations", time(["list", "--json", "--root", big], 20), 60);
  rmSync(join(big, ".claude/pipeline-runs"), { recursive: true, force: true });
  write("huge", 1000);
  record("status --json, 1,000 iterations", time(["status", "huge", "--json", "--root", big], 20), 15);
  rmSync(big, { recursive: true, force: true });
} finally {
  Bun.spawnSync(["tmux", "kill-server"], { env });
  rmSync(root, { recursive: true, force: true });
  rmSync(tmuxDir, { recursive: true, force: true });
}

const over = results.filter((r) => r.median > r.budget);
console.log(over.length ? `over budget: ${over.map((r) => r.name).join(", ")}` : "all medians within budget");
process.exitCode = over.length ? 1 : 0;
