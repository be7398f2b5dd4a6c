/** Session management under attack (issue 9): the compiled binary, a private tmux, the fake agent. */
import { afterAll, describe, expect, test } from "bun:test";
import { chmodSync, existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BIN, cleanEnv, fakeStage, gone, privateTmux, readJson, runDir, sessions, tempRoot, until, historyOf } from "../helpers.ts";

const server = privateTmux();
afterAll(() => server.kill());

const tmux = (...args: string[]) => Bun.spawnSync(["tmux", ...args], { env: cleanEnv({ TMUX_TMPDIR: server.dir }), stdout: "pipe", stderr: "pipe" });
const hasTmux = (name: string) => tmux("has-session", "-t", `=${name}`).success;
const run = (root: string, args: string[], env: Record<string, string> = {}) => sessions([...args, "--root", root], { tmux: server.dir, env });
const state = (root: string, s: string) => readJson(join(runDir(root, s), "state.json"));
const lockPath = (root: string, s: string) => join(root, ".claude", "locks", `${s}.lock`);
const spawn = (root: string, args: string[], env: Record<string, string> = {}) =>
  Bun.spawn([BIN, ...args, "--root", root], { env: cleanEnv({ TMUX_TMPDIR: server.dir, ...env }), stdin: "ignore", stdout: "pipe", stderr: "pipe" });

function groupGone(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
  } catch {
    return true;
  }
  return gone(pgid);
}

/** Started in tmux, its agent running: the state with the engine pid and the agent group. */
async function startRunning(root: string, target: string, session = target) {
  const r = await run(root, ["start", target, session, "--json"]);
  expect(r.stderr).toBe("");
  expect(r.json()).toMatchObject({ session });
  expect(r.code).toBe(0);
  return until(async () => {
    const s = await state(root, session);
    return s.agent_pgids?.length && s.status === "running" ? s : null;
  }, 10_000, "the agent to run");
}

/** A crash of the engine alone: its agent (own process group) lives on. */
async function crashEngine(pid: number) {
  process.kill(pid, "SIGKILL");
  await until(() => gone(pid), 5000, "the engine to die");
}

describe("cleanup", () => {
  test("an archived crashed run is settled in its own directory; the current session is never touched", async () => {
    using root = tempRoot();
    fakeStage(root.path, "hang", { script: "hang" });
    fakeStage(root.path, "quick", { script: "stop" });
    const s = await startRunning(root.path, "hang", "x");
    await crashEngine(s.pid);
    process.kill(-s.agent_pgids[0], "SIGKILL");
    expect((await run(root.path, ["start", "quick", "x", "--force", "--foreground"])).code).toBe(0);
    const archive = readdirSync(join(root.path, ".claude", "pipeline-runs")).find((n) => n.startsWith("x."))!;

    const r = await run(root.path, ["cleanup", "--yes", "--json"]);
    expect(r.json().zombie_states).toMatchObject([{ session: archive, fixed: true }]);
    expect(r.code).toBe(0);
    const now = await state(root.path, "x");
    expect([now.status, now.error, historyOf(root.path, "x").length]).toEqual(["complete", null, 1]);
    expect((await state(root.path, archive)).status).toBe("failed");
    const again = (await run(root.path, ["cleanup", "--yes", "--json"])).json();
    expect(again.zombie_states).toEqual([]);
    expect((await state(root.path, "x")).status).toBe("complete");
  }, 30_000);
});

describe("start --force", () => {
  test("over a live engine whose lock was deleted: refused, nothing archived", async () => {
    using root = tempRoot();
    fakeStage(root.path, "hang", { script: "hang" });
    const s = await startRunning(root.path, "hang", "unlocked");
    rmSync(lockPath(root.path, "unlocked"));
    for (const how of [[], ["--foreground"]]) {
      const r = await run(root.path, ["start", "hang", "unlocked", "--force", ...how]);
      expect(r.stderr).toContain(`is running (engine pid ${s.pid}`);
      expect(r.code).toBe(4);
    }
    expect(readdirSync(join(root.path, ".claude", "pipeline-runs")).filter((n) => n !== ".gitignore")).toEqual(["unlocked"]);
    expect((await state(root.path, "unlocked")).pid).toBe(s.pid);
    expect(gone(s.pid)).toBe(false);
    expect((await run(root.path, ["kill", "unlocked", "--yes"])).code).toBe(0);
  }, 30_000);

  test("over a crashed run: that run's agent is ended before the new run starts", async () => {
    using root = tempRoot();
    fakeStage(root.path, "hang", { script: "hang" });
    const old = await startRunning(root.path, "hang", "again");
    await crashEngine(old.pid);
    expect(groupGone(old.agent_pgids[0])).toBe(false);
    const r = await run(root.path, ["start", "hang", "again", "--force", "--json"]);
    expect(r.code).toBe(0);
    expect(groupGone(old.agent_pgids[0])).toBe(true);
    expect((await run(root.path, ["kill", "again", "--yes"])).code).toBe(0);
  }, 30_000);

  test("twice in one second: each old run is kept under its own name", async () => {
    using root = tempRoot();
    fakeStage(root.path, "quick", { script: "stop" });
    expect((await run(root.path, ["start", "quick", "--foreground"])).code).toBe(0);
    // Every archive name of the next seconds is taken already, so this second's one collides.
    const runs = join(root.path, ".claude", "pipeline-runs");
    for (let i = 0; i < 5; i++) {
      const stamp = new Date(Date.now() + i * 1000).toISOString().replace(/[-:]/g, "").replace(/\..*/, "");
      mkdirSync(join(runs, `quick.${stamp}`), { recursive: true });
      writeFileSync(join(runs, `quick.${stamp}`, "keep"), "");
    }
    const r = await run(root.path, ["start", "quick", "--force", "--foreground"]);
    expect(r.stderr).not.toContain("ENOTEMPTY");
    expect(r.code).toBe(0);
    const kept = readdirSync(runs).filter((n) => /^quick\.\d{8}T\d{6}-1$/.test(n));
    expect(kept.length).toBe(1);
    expect(existsSync(join(runs, kept[0]!, "state.json"))).toBe(true);
    const list = (await run(root.path, ["list", "--all", "--json"])).json();
    expect(list.sessions.map((x: { session: string }) => x.session)).toContain(kept[0]);
  }, 30_000);
});

describe("kill during start", () => {
  test("waits for the engine that start hands the lock to, stops it, and reports only what it stopped", async () => {
    using root = tempRoot();
    fakeStage(root.path, "hang", { script: "hang" });
    // A tmux that holds `new-session` until the gate file exists: start sits between its lock and its engine.
    const bin = join(root.path, "bin");
    mkdirSync(bin);
    const gate = join(root.path, "gate");
    const real = Bun.which("tmux")!;
    writeFileSync(join(bin, "tmux"), `#!/bin/sh\nif [ "$1" = new-session ]; then while [ ! -e "${gate}" ]; do sleep 0.02; done; fi\nexec ${real} "$@"\n`);
    chmodSync(join(bin, "tmux"), 0o755);
    const env = { PATH: `${bin}:${process.env.PATH}` };

    const start = spawn(root.path, ["start", "hang", "handoff", "--json"], env);
    await until(() => existsSync(lockPath(root.path, "handoff")) && existsSync(join(runDir(root.path, "handoff"), "plan.json")), 10_000, "start to take the lock");
    const kill = spawn(root.path, ["kill", "handoff", "--yes", "--json"], env);
    const errs: string[] = [];
    const reader = (async () => {
      for await (const chunk of kill.stderr as ReadableStream<Uint8Array>) errs.push(new TextDecoder().decode(chunk));
    })();
    let killEnded = false;
    void kill.exited.then(() => (killEnded = true));
    await until(() => killEnded || errs.join("").includes("waiting for its engine"), 10_000, "kill to wait or end");
    writeFileSync(gate, "");

    const [killOut, killCode, startOut, startCode] = await Promise.all([new Response(kill.stdout).text(), kill.exited, new Response(start.stdout).text(), start.exited]);
    await reader;
    const doc = JSON.parse(killOut);
    expect(doc.killed).toEqual(expect.arrayContaining(["engine", "tmux"]));
    expect(doc.status).toBe("killed");
    expect({ killCode, startCode, startOut }).toMatchObject({ killCode: 0, startCode: 0 });
    const s = await state(root.path, "handoff");
    expect(s.status).toBe("killed");
    await until(() => gone(s.pid), 5000, "the engine to exit"); // it may still be on its way out after writing killed
    expect(hasTmux("pipeline-handoff")).toBe(false);
    expect(existsSync(lockPath(root.path, "handoff"))).toBe(false);
  }, 40_000);

  test("a half-created run directory (a start killed before its engine) is reported by cleanup and removed", async () => {
    using root = tempRoot();
    fakeStage(root.path, "hang", { script: "hang" });
    const bin = join(root.path, "bin");
    mkdirSync(bin);
    writeFileSync(join(bin, "tmux"), `#!/bin/sh\nif [ "$1" = new-session ]; then exec sleep 30; fi\nexec ${Bun.which("tmux")} "$@"\n`);
    chmodSync(join(bin, "tmux"), 0o755);
    const start = spawn(root.path, ["start", "hang", "half"], { PATH: `${bin}:${process.env.PATH}` });
    await until(() => existsSync(join(runDir(root.path, "half"), "plan.json")), 10_000, "plan.json");
    start.kill("SIGKILL");
    await start.exited;

    const seen = await run(root.path, ["cleanup", "--json"]);
    expect(seen.json().half_created).toMatchObject([{ session: "half" }]);
    const fixed = await run(root.path, ["cleanup", "--yes", "--json"]);
    expect(fixed.json().half_created).toMatchObject([{ session: "half", fixed: true }]);
    expect(existsSync(runDir(root.path, "half"))).toBe(false);
    expect(existsSync(lockPath(root.path, "half"))).toBe(false);
  }, 40_000);
});

describe("locks", () => {
  test("a lock taken on another host (a container restart) is unverifiable: crashed, said why, cleared by kill", async () => {
    using root = tempRoot();
    fakeStage(root.path, "hang", { script: "hang" });
    const s = await startRunning(root.path, "hang", "moved");
    await crashEngine(s.pid);
    process.kill(-s.agent_pgids[0], "SIGKILL");
    const lock = await readJson(lockPath(root.path, "moved"));
    writeFileSync(lockPath(root.path, "moved"), JSON.stringify({ ...lock, host: "old-container" }));

    const st = await run(root.path, ["status", "moved"]);
    expect(st.stdout).toContain("crashed");
    expect(st.stdout).toContain("unverifiable");
    expect(st.stdout).toContain("old-container");
    const doc = (await run(root.path, ["status", "moved", "--json"])).json();
    expect([doc.status, doc.alive, doc.lock.unverifiable]).toEqual(["crashed", false, true]);

    const resume = await run(root.path, ["resume", "moved"]);
    expect(resume.stderr).toContain("sessions kill moved");
    expect(resume.code).toBe(4);
    const asked = await run(root.path, ["kill", "moved"]);
    expect(asked.stderr).toContain("lock to remove");
    expect(asked.code).toBe(2);
    const k = await run(root.path, ["kill", "moved", "--yes", "--json"]);
    expect(k.json()).toMatchObject({ killed: ["lock"], status: "killed" });
    expect(existsSync(lockPath(root.path, "moved"))).toBe(false);
    expect((await run(root.path, ["resume", "moved", "--json"])).code).toBe(0);
    expect((await run(root.path, ["kill", "moved", "--yes"])).code).toBe(0);
  }, 40_000);

  test(".claude/locks that is a file: status, kill and cleanup say so in one line", async () => {
    using root = tempRoot();
    fakeStage(root.path, "quick", { script: "stop" });
    expect((await run(root.path, ["start", "quick", "--foreground"])).code).toBe(0);
    rmSync(join(root.path, ".claude", "locks"), { recursive: true });
    writeFileSync(join(root.path, ".claude", "locks"), "");
    for (const args of [["status", "quick"], ["kill", "quick", "--yes"], ["cleanup", "--yes"], ["start", "quick", "other"]]) {
      const r = await run(root.path, args);
      expect(r.stderr).toContain(".claude/locks is not a directory");
      expect(r.stderr).not.toContain("ENOTDIR: ");
      expect(r.stderr.trim().split("\n").length).toBe(2);
      expect(r.code).toBe(1);
    }
  }, 30_000);

  test("10 simultaneous starts in tmux: each loser is told who holds the name", async () => {
    using root = tempRoot();
    fakeStage(root.path, "hang", { script: "hang" });
    const procs = Array.from({ length: 10 }, () => spawn(root.path, ["start", "hang", "race", "--json"]));
    const results = await Promise.all(procs.map(async (p) => ({ code: await p.exited, stdout: await new Response(p.stdout).text() })));
    const losers = results.filter((r) => r.code !== 0);
    expect(losers.length).toBe(9);
    for (const l of losers) expect(JSON.parse(l.stdout).error.message).toMatch(/is (running|being started) \((engine|'[^']*sessions start') pid \d+/);
    expect((await run(root.path, ["kill", "race", "--yes"])).code).toBe(0);
  }, 40_000);
});

test("a target that is no definition is not echoed in the error (start ../../etc/passwd)", async () => {
  using root = tempRoot();
  writeFileSync(join(root.path, "secret.txt"), "TOKEN=hunter2-secret-value\n");
  const r = await run(root.path, ["start", join(root.path, "secret.txt")]);
  expect(r.stderr).not.toContain("hunter2");
  expect(r.stderr).toContain("got text");
  expect(r.code).toBe(2);
});
