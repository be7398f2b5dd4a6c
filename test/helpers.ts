/** Shared by unit and e2e tests: temp roots, a scrubbed environment, the compiled binary, a private tmux. */
import { afterAll, beforeAll } from "bun:test";
import { mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

export const REPO = resolve(import.meta.dir, "..");
export const BIN = join(REPO, "dist", "sessions");

/** A fresh project root (git-initialised unless git: false), removed by `using`. */
export function tempRoot(opts: { git?: boolean; prefix?: string } = {}) {
  const dir = realpathSync(mkdtempSync(join(tmpdir(), opts.prefix ?? "sessions-test-")));
  if (opts.git !== false) {
    Bun.spawnSync(["git", "init", "-q", "-b", "main", dir]);
    Bun.spawnSync(["git", "-C", dir, "-c", "user.email=t@t", "-c", "user.name=t", "commit", "-q", "--allow-empty", "-m", "init"]);
  }
  return {
    path: dir,
    [Symbol.dispose]() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A private tmux server for this test file: TMUX_TMPDIR set, TMUX unset. */
export function privateTmux() {
  const dir = realpathSync(mkdtempSync(join(tmpdir(), "sessions-tmux-")));
  return {
    dir,
    kill() {
      Bun.spawnSync(["tmux", "kill-server"], { env: { ...cleanEnv(), TMUX_TMPDIR: dir } });
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** In-process code that asks tmux (overview, reconcile) gets a private, empty server for this file. */
export function usePrivateTmuxEnv() {
  const tmux = privateTmux();
  const saved = { TMUX_TMPDIR: process.env.TMUX_TMPDIR, TMUX: process.env.TMUX };
  beforeAll(() => {
    process.env.TMUX_TMPDIR = tmux.dir;
    delete process.env.TMUX;
  });
  afterAll(() => {
    Object.assign(process.env, saved);
    tmux.kill();
  });
  return tmux;
}

/** The environment a user's shell would give, minus what would leak into tests. */
export function cleanEnv(extra: Record<string, string | undefined> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v === undefined) continue;
    if (["TMUX", "TMUX_PANE", "CLAUDECODE", "NODE_ENV", "SESSIONS_ROOT", "FORCE_COLOR"].includes(k)) continue;
    env[k] = v;
  }
  Object.assign(env, { NO_COLOR: "1", TZ: "UTC" });
  for (const [k, v] of Object.entries(extra)) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  return env;
}

export interface RunResult {
  stdout: string;
  stderr: string;
  code: number;
  json: () => any;
  /** Fails with the command line, its stderr and stdout when the exit code is not `code`. */
  expectExit: (code: number) => void;
}

/** Run the compiled binary and collect its output. */
export async function sessions(args: string[], opts: { cwd?: string; env?: Record<string, string | undefined>; tmux?: string; stdin?: string } = {}): Promise<RunResult> {
  const env = cleanEnv({ ...(opts.tmux ? { TMUX_TMPDIR: opts.tmux } : {}), ...opts.env });
  const p = Bun.spawn([BIN, ...args], { cwd: opts.cwd, env, stdin: opts.stdin ? new Blob([opts.stdin]) : "ignore", stdout: "pipe", stderr: "pipe" });
  const [stdout, stderr, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  const shown = () => `sessions ${args.join(" ")}\n--- stderr ---\n${stderr.slice(-4000)}\n--- stdout ---\n${stdout.slice(-2000)}`;
  return {
    stdout,
    stderr,
    code,
    json: () => {
      try {
        return JSON.parse(stdout);
      } catch {
        throw new Error(`not one JSON document on stdout: ${shown()}`);
      }
    },
    expectExit: (want) => {
      if (code !== want) throw new Error(`exit ${code}, expected ${want}: ${shown()}`);
    },
  };
}

/** Poll until `check` returns something truthy, or fail after `ms`. */
export async function until<T>(check: () => T | Promise<T>, ms = 10_000, what = "condition"): Promise<NonNullable<T>> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v) return v as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await Bun.sleep(25);
  }
}

/**
 * A project-local stage driven by the fake agent (`sessions _agent`). `script` is its actions by
 * iteration, e.g. "continue,continue,stop"; `termination` is YAML for the termination block.
 */
export function fakeStage(root: string, name: string, o: { script?: string; termination?: string; extra?: string; prompt?: string; record?: string; agentArgs?: string } = {}) {
  const dir = join(root, ".claude", "pipelines", "stages", name);
  mkdirSync(dir, { recursive: true });
  const args = [`--script ${o.script ?? "continue"}`, o.record ? `--record ${o.record}` : "", o.agentArgs ?? ""].filter(Boolean).join(" ");
  writeFileSync(
    join(dir, "stage.yaml"),
    [`name: ${name}`, "provider: command", `command: \${SESSIONS_BIN} _agent ${args}`, "termination:", ...(o.termination ?? "type: fixed\nmax: 3").split("\n").map((l) => `  ${l}`), "delay: 0", o.extra ?? ""].join("\n") + "\n",
  );
  writeFileSync(join(dir, "prompt.md"), o.prompt ?? "Iteration ${ITERATION} of ${SESSION_NAME}. Write ${STATUS}.\n");
  return dir;
}

export function runDir(root: string, session: string) {
  return join(root, ".claude", "pipeline-runs", session);
}

export async function readJson(path: string): Promise<any> {
  return JSON.parse(await Bun.file(path).text());
}

/** Gone: no such process, or a zombie waiting for a lazy PID 1 to reap it. */
/** No process of the group is left (zombies awaiting a lazy reaper do not count). */
export function groupGone(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
  } catch {
    return true;
  }
  return gone(pgid);
}

export function gone(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return true;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return /^[ZX]$/.test(stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3));
  } catch {
    return true;
  }
}

/** A hand-written state.json of a one-stage loop at iteration 2 of 5, for tests of readers. */
export function stateFixture(session: string, o: Record<string, unknown> = {}) {
  const at = new Date().toISOString();
  return {
    session,
    type: "loop",
    target: "t",
    status: "running",
    pid: null,
    pid_start: null,
    started_at: at,
    updated_at: at,
    completed_at: null,
    current_stage: 0,
    iteration: 2,
    iteration_completed: 1,
    iteration_started: at,
    agent_pgids: [],
    stages: [{ index: 0, id: "t", stage: "t", kind: "stage", status: "running", iterations: 1, max: 5 }],
    ...o,
  };
}

/** The history entries a run directory's events.jsonl records (state.json keeps none). */
export function historyOf(root: string, session: string): any[] {
  const file = join(runDir(root, session), "events.jsonl");
  return readFileSync(file, "utf8").trim().split("\n").filter(Boolean).map((l) => JSON.parse(l)).filter((e) => e.type === "iteration_complete").map((e) => e.data);
}
