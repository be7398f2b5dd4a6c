/** Files an agent leaves are read bounded: a status.json that is a FIFO, a device, a directory or huge fails its iteration, never the engine. */
import { afterAll, expect, test } from "bun:test";
import { existsSync, mkdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fakeStage, gone, historyOf, privateTmux, readJson, runDir, sessions, tempRoot, until } from "../helpers.ts";

const tmux = privateTmux();
afterAll(() => tmux.kill());

test.concurrent.each([
  ["fifo", "status.json is not a regular file"],
  ["zero", "status.json is not a regular file"],
  ["dir", "status.json is not a regular file"],
  ["huge:8", "status.json is larger than 1 MiB (8 MiB)"],
])("status.json left as %p: the iteration fails with a clear reason; resume goes on", async (how, why) => {
  using root = tempRoot({ git: false });
  const name = how.replace(/\W.*/, "");
  const script = join(root.path, "script");
  writeFileSync(script, `hostile:${how}\n`);
  fakeStage(root.path, name, { agentArgs: `--script-file ${script}`, termination: "type: fixed\nmax: 3" });
  const r = await sessions(["start", name, "--foreground", "--json", "--root", root.path], { tmux: tmux.dir });
  expect(r.json().error).toMatchObject({ kind: "bad_status", message: `iteration 1 of ${name} failed: ${why}` });
  r.expectExit(1);
  const log = statSync(join(runDir(root.path, name), "engine.log")).size;
  expect(log).toBeLessThan(64 << 10);
  writeFileSync(script, "stop\n");
  const again = await sessions(["resume", name, "--foreground", "--json", "--root", root.path], { tmux: tmux.dir });
  again.expectExit(0);
  expect(historyOf(root.path, name).map((h) => h.decision)).toEqual(["failed", "stop"]);
}, 30_000);

test.concurrent.each([["fifo"], ["zero"]])("a stage.yaml that is a %p: lint, stages, start and doctor answer at once", async (how) => {
  using root = tempRoot({ git: false });
  const dir = join(root.path, ".claude/pipelines/stages/trap");
  mkdirSync(dir, { recursive: true });
  const file = join(dir, "stage.yaml");
  if (how === "fifo") Bun.spawnSync(["mkfifo", file]);
  else symlinkSync("/dev/zero", file);
  writeFileSync(join(dir, "prompt.md"), "hi\n");
  const lint = await sessions(["lint", "trap", "--root", root.path], { tmux: tmux.dir });
  expect(lint.stdout + lint.stderr).toContain("stage.yaml is not a regular file");
  lint.expectExit(2);
  const start = await sessions(["start", "trap", "--root", root.path], { tmux: tmux.dir });
  expect(start.stderr).toContain("stage.yaml is not a regular file");
  start.expectExit(2);
  (await sessions(["stages", "--json", "--root", root.path], { tmux: tmux.dir })).expectExit(0);
  const doctor = await sessions(["doctor", "--json", "--root", root.path], { tmux: tmux.dir });
  expect(doctor.json().checks.length).toBeGreaterThan(0);
}, 30_000);

test.concurrent("a daemon that left the agent's process group and environment is ended with the iteration (cgroup)", async () => {
  using root = tempRoot({ git: false });
  const pidfile = join(root.path, "daemon.pid");
  fakeStage(root.path, "esc", { script: `escape:${pidfile},stop`, termination: "type: fixed\nmax: 2" });
  const r = await sessions(["start", "esc", "--foreground", "--json", "--root", root.path], { tmux: tmux.dir });
  r.expectExit(0);
  const pid = Number(readFileSync(pidfile, "utf8"));
  expect(gone(pid)).toBe(true);
  expect(readFileSync(join(runDir(root.path, "esc"), "engine.log"), "utf8")).toContain("ended 1 process(es) left behind by command");
}, 30_000);

test.concurrent("a queue command whose child outlives it does not hold the engine", async () => {
  using root = tempRoot({ git: false });
  const queue = join(root.path, "queue");
  writeFileSync(queue, "");
  fakeStage(root.path, "qq", { termination: `type: queue\nmax: 3\ncommand: sh -c "cat ${queue}; sleep 300 &"` });
  const t0 = Date.now();
  const r = await sessions(["start", "qq", "--foreground", "--json", "--root", root.path], { tmux: tmux.dir });
  expect(r.json()).toMatchObject({ status: "complete", completion_reason: "queue is empty" });
  r.expectExit(0);
  expect(Date.now() - t0).toBeLessThan(10_000);
}, 30_000);

test.concurrent("kill -9 of the engine: 'sessions kill' still ends the daemon its agent left (cgroup), and says so", async () => {
  using root = tempRoot({ git: false });
  const pidfile = join(root.path, "daemon.pid");
  fakeStage(root.path, "dk", { script: `escape:${pidfile}:hang`, termination: "type: fixed\nmax: 3" });
  (await sessions(["start", "dk", "--root", root.path], { tmux: tmux.dir })).expectExit(0);
  const s = await until(async () => {
    const st = await readJson(join(runDir(root.path, "dk"), "state.json"));
    return st.agent_pgids.length && existsSync(pidfile) ? st : null;
  }, 10_000, "the agent and its daemon running");
  const daemon = Number(readFileSync(pidfile, "utf8"));
  process.kill(s.pid, "SIGKILL");
  await until(() => gone(s.pid), 5000, "engine gone");
  const r = await sessions(["kill", "dk", "--yes", "--json", "--root", root.path], { tmux: tmux.dir });
  r.expectExit(0);
  expect(r.json().killed).toContain("descendants");
  expect(gone(daemon)).toBe(true);
}, 30_000);
