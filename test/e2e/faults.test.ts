/** Faults the engine must survive: real processes, real signals, a real (private) tmux. */
import { afterAll, describe, expect, test } from "bun:test";
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BIN, cleanEnv, fakeStage, gone, privateTmux, readJson, runDir, sessions, tempRoot, until, historyOf } from "../helpers.ts";

const tmux = privateTmux();
afterAll(() => tmux.kill());

const records = (file: string) => (existsSync(file) ? readFileSync(file, "utf8").trim().split("\n").filter(Boolean).map((l) => JSON.parse(l)) : []);
const state = (root: string, s: string) => readJson(join(runDir(root, s), "state.json"));

function spawnForeground(root: string, args: string[]) {
  return Bun.spawn([BIN, "start", ...args, "--foreground", "--json", "--root", root], {
    env: cleanEnv({ TMUX_TMPDIR: tmux.dir }),
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
}

test("20 simultaneous starts of one session: exactly one runs, the others exit 4 naming the holder", async () => {
  using root = tempRoot();
  const rec = join(root.path, "rec.jsonl");
  fakeStage(root.path, "race", { script: "sleep:1:stop", record: rec, termination: "type: fixed\nmax: 1" });
  const procs = Array.from({ length: 20 }, () => spawnForeground(root.path, ["race"]));
  const results = await Promise.all(procs.map(async (p) => ({ code: await p.exited, stderr: await new Response(p.stderr).text(), stdout: await new Response(p.stdout).text() })));
  const winners = results.filter((r) => r.code === 0);
  const losers = results.filter((r) => r.code !== 0);
  expect(winners.length).toBe(1);
  expect(losers.every((r) => r.code === 4)).toBe(true);
  for (const l of losers) expect(JSON.parse(l.stdout).error.message).toMatch(/is running \(engine pid \d+|already ran/);
  expect(records(rec).length).toBe(1);
  expect(readdirSync(join(root.path, ".claude/pipeline-runs")).sort()).toEqual([".gitignore", "race"]);
  expect(readdirSync(join(root.path, ".claude/locks"))).toEqual([".gitignore"]);
  expect((await state(root.path, "race")).status).toBe("complete");
}, 60_000);

describe("signals", () => {
  test.each(["SIGTERM", "SIGHUP"] as const)("%s ends the agent's group, marks the state killed and drops the lock within 5 s", async (sig) => {
    using root = tempRoot();
    const rec = join(root.path, "rec.jsonl");
    fakeStage(root.path, "sig", { script: "orphan,hang", record: rec, termination: "type: fixed\nmax: 3" });
    const p = spawnForeground(root.path, ["sig"]);
    const runs = await until(() => (records(rec).length >= 2 ? records(rec) : null), 10_000, "iteration 2");
    const t0 = Date.now();
    p.kill(sig);
    expect(await p.exited).toBe(1);
    const s = await state(root.path, "sig");
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(s.status).toBe("killed");
    expect(s.error.message).toContain(sig);
    expect(gone(runs[1].pid)).toBe(true);
    expect(existsSync(join(root.path, ".claude/locks/sig.lock"))).toBe(false);
  }, 30_000);

  test("in the foreground a first Ctrl-C lets the iteration finish, then stops; a second stops now", async () => {
    using root = tempRoot();
    const rec = join(root.path, "rec.jsonl");
    fakeStage(root.path, "ctrlc", { script: "sleep:2:continue", record: rec, termination: "type: fixed\nmax: 5" });
    const p = spawnForeground(root.path, ["ctrlc"]);
    await until(() => records(rec).length >= 1, 10_000, "iteration 1");
    p.kill("SIGINT");
    expect(await p.exited).toBe(1);
    const s = await state(root.path, "ctrlc");
    expect(s.status).toBe("killed");
    expect(s.iteration_completed).toBe(1);
    expect(historyOf(root.path, "ctrlc").map((h: { decision: string }) => h.decision)).toEqual(["continue"]);

    fakeStage(root.path, "twice", { script: "hang", record: rec, termination: "type: fixed\nmax: 5" });
    const q = spawnForeground(root.path, ["twice"]);
    await until(() => records(rec).some((r) => r.stage === "twice"), 10_000, "the hanging iteration");
    q.kill("SIGINT");
    await Bun.sleep(200);
    q.kill("SIGINT");
    expect(await q.exited).toBe(1);
    expect((await state(root.path, "twice")).status).toBe("killed");
  }, 30_000);
});

describe("the agent misbehaves", () => {
  test("100 MB of output: engine memory stays flat, output.md keeps it all, the terminal is spared", async () => {
    using root = tempRoot();
    fakeStage(root.path, "flood", { script: "flood:100", termination: "type: fixed\nmax: 1" });
    const p = spawnForeground(root.path, ["flood"]);
    const [code, , stderr] = await Promise.all([p.exited, new Response(p.stdout).text(), new Response(p.stderr).text()]);
    expect(code).toBe(0);
    const usage = p.resourceUsage();
    expect(usage!.maxRSS).toBeLessThan(160 * 1024 * 1024);
    expect(statSync(join(runDir(root.path, "flood"), "stage-00-flood/iterations/001/output.md")).size).toBeGreaterThanOrEqual(100 * 1024 * 1024);
    expect(stderr.length).toBeLessThan(2 * 1024 * 1024);
    expect(statSync(join(runDir(root.path, "flood"), "engine.log")).size).toBeLessThan(2 * 1024 * 1024);
  }, 60_000);

  test("on_error: retry retries a failed iteration, then carries on", async () => {
    using root = tempRoot();
    const marker = join(root.path, "failed-once");
    fakeStage(root.path, "retry", { script: `failonce:${marker}:stop`, extra: "on_error: retry\nretries: 2\nbackoff: 0", termination: "type: fixed\nmax: 2" });
    const p = spawnForeground(root.path, ["retry"]);
    expect(await p.exited).toBe(0);
    const s = await state(root.path, "retry");
    expect(s.status).toBe("complete");
    expect(historyOf(root.path, "retry").map((h: { decision: string }) => h.decision)).toEqual(["failed", "stop"]);
    expect(existsSync(join(runDir(root.path, "retry"), "stage-00-retry/iterations/001.attempt-1"))).toBe(true);
  }, 30_000);
});

describe("provider errors reach the user", () => {
  function fakeClaude(root: string, body: string) {
    const bin = join(root, "fake-claude");
    writeFileSync(bin, `#!/bin/sh\ncat >/dev/null\n${body}\n`);
    chmodSync(bin, 0o755);
    return bin;
  }

  test("claude not logged in: the session error says so, classified auth", async () => {
    using root = tempRoot();
    const bin = fakeClaude(root.path, `echo '{"type":"result","subtype":"success","is_error":true,"result":"Not logged in · Please run /login","total_cost_usd":0}'\nexit 1`);
    fakeStage(root.path, "c");
    const r = await sessions(["start", "c", "--provider", "claude", "--foreground", "--json", "--root", root.path], { tmux: tmux.dir, env: { SESSIONS_CLAUDE_BIN: bin } });
    expect(r.code).toBe(1);
    const doc = r.json();
    expect(doc.error.message).toContain("Not logged in");
    expect(doc.error.kind).toBe("auth");
    expect(doc.agents.claude).toBe(bin);
  }, 30_000);

  test("claude refusing to run as root: its message is the error, not a bare exit code", async () => {
    using root = tempRoot();
    const bin = fakeClaude(root.path, `echo "--dangerously-skip-permissions cannot be used with root/sudo privileges for security reasons" >&2\nexit 1`);
    fakeStage(root.path, "c");
    const r = await sessions(["start", "c", "--provider", "claude", "--foreground", "--json", "--root", root.path], { tmux: tmux.dir, env: { SESSIONS_CLAUDE_BIN: bin } });
    expect(r.code).toBe(1);
    expect(r.json().error.message).toContain("cannot be used with root/sudo privileges");
  }, 30_000);

  test("a usage limit is waited out and retried without counting as work", async () => {
    using root = tempRoot();
    const marker = join(root.path, "limited-once");
    // First call: the limit (reset time already past, so the wait is short); then a normal run.
    const bin = fakeClaude(
      root.path,
      `if [ ! -e ${marker} ]; then touch ${marker}; echo '{"type":"rate_limit_event","rate_limit_info":{"status":"rejected","resetsAt":1000000000,"rateLimitType":"five_hour"}}'; echo '{"type":"result","subtype":"success","is_error":true,"api_error_status":429,"result":"You'"'"'ve hit your session limit · resets 5:43pm (UTC)"}'; exit 1; fi
echo '{"decision":"stop","summary":"done"}' > "$PIPELINE_STATUS"
echo '{"type":"result","subtype":"success","is_error":false,"result":"all good","total_cost_usd":0.25}'`,
    );
    fakeStage(root.path, "lim", { termination: "type: fixed\nmax: 3" });
    const r = await sessions(["start", "lim", "--provider", "claude", "--foreground", "--json", "--root", root.path], { tmux: tmux.dir, env: { SESSIONS_CLAUDE_BIN: bin } });
    expect(r.code).toBe(0);
    const doc = r.json();
    expect(doc.iteration_completed).toBe(1);
    expect(doc.history.map((h: { decision: string; error_kind: string | null }) => [h.decision, h.error_kind])).toEqual([["failed", "limit"], ["stop", null]]);
    expect(doc.totals.cost_usd).toBe(0.25);
    const events = readFileSync(join(runDir(root.path, "lim"), "events.jsonl"), "utf8");
    expect(events).toContain('"type":"waiting"');
  }, 30_000);
});

test("a full disk stops the engine with a clear error and keeps what it had", async () => {
  using base = tempRoot({ git: false });
  const mnt = join(base.path, "small");
  mkdirSync(mnt);
  const m = Bun.spawnSync(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", mnt]);
  expect(m.exitCode).toBe(0);
  try {
    fakeStage(mnt, "full", { script: "flood:3", termination: "type: fixed\nmax: 5" });
    const p = spawnForeground(mnt, ["full"]);
    const [code, stdout] = await Promise.all([p.exited, new Response(p.stdout).text()]);
    expect(code).toBe(1);
    expect(stdout).toMatch(/ENOSPC|no space/i);
    // Whether state.json or only the lock still had room for it, status shows the engine's error.
    const st = (await sessions(["status", "full", "--json", "--root", mnt], { tmux: tmux.dir })).json();
    expect([["failed", "crashed"].includes(st.status), st.error?.message]).toEqual([true, expect.stringMatching(/ENOSPC|no space/i)]);
  } finally {
    Bun.spawnSync(["umount", "-l", mnt]);
  }
}, 30_000);

describe("crashes", () => {
  test("the tmux server killed under a running session: the engine ends it as killed, no agent is left, resume completes", async () => {
    const own = privateTmux();
    try {
      using root = tempRoot();
      const rec = join(root.path, "rec.jsonl");
      const script = join(root.path, "script.txt");
      writeFileSync(script, "sleep:30:continue\ncontinue\nstop\n");
      fakeStage(root.path, "srv", { agentArgs: `--script-file ${script}`, record: rec, termination: "type: fixed\nmax: 3" });
      expect((await sessions(["start", "srv", "--root", root.path], { tmux: own.dir })).code).toBe(0);
      const [agent] = await until(() => (records(rec).length ? records(rec) : null), 10_000, "the agent");
      Bun.spawnSync(["tmux", "kill-server"], { env: cleanEnv({ TMUX_TMPDIR: own.dir }) });
      const s = await until(async () => {
        const st = await state(root.path, "srv");
        return st.status !== "running" ? st : null;
      }, 5_000, "the engine to notice");
      expect(s.status).toBe("killed");
      expect(s.error.message).toContain("SIGHUP");
      await until(() => gone(agent.pid), 5_000, "the agent to be gone");
      const list = await sessions(["list", "--json", "--root", root.path], { tmux: own.dir });
      expect(list.json().sessions[0]).toMatchObject({ session: "srv", status: "killed", alive: false, tmux: false });
      writeFileSync(script, "continue\ncontinue\nstop\n");
      const r = await sessions(["resume", "srv", "--foreground", "--json", "--root", root.path], { tmux: own.dir });
      expect(r.code).toBe(0);
      expect(r.json().iteration_completed).toBe(3);
    } finally {
      own.kill();
    }
  }, 60_000);

  test("a corrupt state.json is shown as unreadable, never rewritten by readers; resume rebuilds it from the events", async () => {
    using root = tempRoot();
    const script = join(root.path, "script.txt");
    writeFileSync(script, "continue\nfail\n");
    fakeStage(root.path, "bad", { agentArgs: `--script-file ${script}`, termination: "type: fixed\nmax: 3" });
    expect((await sessions(["start", "bad", "--foreground", "--root", root.path], { tmux: tmux.dir })).code).toBe(1);
    const statePath = join(runDir(root.path, "bad"), "state.json");
    writeFileSync(statePath, '{"session": "bad", "status": ');
    const st = await sessions(["status", "bad", "--json", "--root", root.path], { tmux: tmux.dir });
    expect(st.code).toBe(1);
    expect(st.json()).toMatchObject({ status: "unreadable" });
    expect((await sessions(["list", "--json", "--root", root.path], { tmux: tmux.dir })).json().sessions[0].status).toBe("unreadable");
    expect((await sessions(["cleanup", "--yes", "--json", "--root", root.path], { tmux: tmux.dir })).json().unreadable.length).toBe(1);
    expect(readFileSync(statePath, "utf8")).toBe('{"session": "bad", "status": ');
    writeFileSync(script, "continue\n");
    const r = await sessions(["resume", "bad", "--foreground", "--json", "--root", root.path], { tmux: tmux.dir });
    expect(r.code).toBe(0);
    const first = readFileSync(join(runDir(root.path, "bad"), "events.jsonl"), "utf8").split("\n").map((l) => (l ? JSON.parse(l) : null)).find((e) => e?.type === "session_start");
    // Rebuilt from the events: the session began with its first engine, and this is its second.
    expect(r.json()).toMatchObject({ status: "complete", iteration_completed: 3, attempts: 2, started_at: first.ts });
  }, 30_000);

  test("a crash after the deciding iteration but before the stage ended: resume ends it without another iteration", async () => {
    using root = tempRoot();
    const rec = join(root.path, "rec.jsonl");
    fakeStage(root.path, "late", { script: "continue,stop", record: rec, termination: "type: fixed\nmax: 5" });
    expect((await sessions(["start", "late", "--foreground", "--root", root.path], { tmux: tmux.dir })).code).toBe(0);
    // Cut the log back to the moment after iteration 2's decision, as a SIGKILL there would leave it.
    const events = join(runDir(root.path, "late"), "events.jsonl");
    const lines = readFileSync(events, "utf8").trim().split("\n");
    const cut = lines.findIndex((l) => JSON.parse(l).type === "stage_complete");
    writeFileSync(events, `${lines.slice(0, cut).join("\n")}\n`);
    const st = await state(root.path, "late");
    writeFileSync(join(runDir(root.path, "late"), "state.json"), JSON.stringify({ ...st, status: "running", pid: 999_999, pid_start: "1", completed_at: null }));
    const r = await sessions(["resume", "late", "--foreground", "--json", "--root", root.path], { tmux: tmux.dir });
    expect(r.code).toBe(0);
    expect(r.json()).toMatchObject({ status: "complete", iteration_completed: 2 });
    expect(records(rec).map((x) => x.iteration)).toEqual([1, 2]);
  }, 30_000);

  test("a torn last line in events.jsonl is ignored and reported; resume runs each remaining iteration once", async () => {
    using root = tempRoot();
    const rec = join(root.path, "rec.jsonl");
    const script = join(root.path, "script.txt");
    writeFileSync(script, "continue\nsleep:30:continue\ncontinue\nstop\n");
    fakeStage(root.path, "torn", { agentArgs: `--script-file ${script}`, record: rec, termination: "type: fixed\nmax: 4" });
    expect((await sessions(["start", "torn", "--root", root.path], { tmux: tmux.dir })).code).toBe(0);
    await until(() => records(rec).length >= 2, 10_000, "iteration 2 to start");
    const s = await state(root.path, "torn");
    process.kill(s.pid, "SIGKILL");
    process.kill(-s.agent_pgids[0], "SIGKILL");
    const events = join(runDir(root.path, "torn"), "events.jsonl");
    writeFileSync(events, readFileSync(events, "utf8") + '{"ts":"2026-11-25T00:00:00Z","type":"iteration_comp');
    expect((await sessions(["status", "torn", "--json", "--root", root.path], { tmux: tmux.dir })).json().status).toBe("crashed");
    const tail = await sessions(["tail", "torn", "--root", root.path], { tmux: tmux.dir });
    expect(tail.stderr).toContain("torn");
    writeFileSync(script, "continue\ncontinue\ncontinue\nstop\n");
    const r = await sessions(["resume", "torn", "--foreground", "--json", "--root", root.path], { tmux: tmux.dir });
    expect(r.code).toBe(0);
    const doc = r.json();
    expect(doc.iteration_completed).toBe(4);
    expect(doc.history.filter((h: { decision: string }) => h.decision !== "failed").map((h: { iteration: number }) => h.iteration)).toEqual([1, 2, 3, 4]);
    const iterations = records(rec).map((x) => x.iteration);
    expect(iterations).toEqual([1, 2, 2, 3, 4]);
    expect(readFileSync(join(runDir(root.path, "torn"), "engine.log"), "utf8")).toContain("torn by a crash");
    expect(existsSync(join(runDir(root.path, "torn"), "stage-00-torn/iterations/002.attempt-1"))).toBe(true);
  }, 60_000);
});

test("a run directory that turns read-only stops the engine with a clear error; the last state stays readable", async () => {
  using base = tempRoot({ git: false });
  const mnt = join(base.path, "disk");
  mkdirSync(mnt);
  expect(Bun.spawnSync(["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", mnt]).exitCode).toBe(0);
  try {
    const rec = join(base.path, "rec.jsonl");
    fakeStage(mnt, "ro", { script: "sleep:1:continue", record: rec, termination: "type: fixed\nmax: 5" });
    const p = spawnForeground(mnt, ["ro"]);
    await until(() => records(rec).length >= 1, 10_000, "iteration 1");
    // A read-only bind over .claude: files the engine already has open stay writable, every new write fails.
    const claude = join(mnt, ".claude");
    expect(Bun.spawnSync(["mount", "--bind", claude, claude]).exitCode).toBe(0);
    expect(Bun.spawnSync(["mount", "-o", "remount,bind,ro", claude]).exitCode).toBe(0);
    const [code, stdout] = await Promise.all([p.exited, new Response(p.stdout).text()]);
    expect(code).toBe(1);
    expect(JSON.parse(stdout).error.message).toMatch(/EROFS|read-only/i);
    const s = JSON.parse(readFileSync(join(runDir(mnt, "ro"), "state.json"), "utf8"));
    expect(s.session).toBe("ro");
    // The lock could not be removed from a read-only disk, but it is stale: cleanup or resume takes it.
    const lock = JSON.parse(readFileSync(join(mnt, ".claude/locks/ro.lock"), "utf8"));
    expect(gone(lock.pid)).toBe(true);
  } finally {
    Bun.spawnSync(["umount", "-l", join(mnt, ".claude")]);
    Bun.spawnSync(["umount", "-l", mnt]);
  }
}, 30_000);

test("an agent silent for stall_after is flagged stalled in status and list, then killed at its timeout", async () => {
  using root = tempRoot();
  fakeStage(root.path, "quiet", { script: "sleep:30:continue", extra: "stall_after: 1\ntimeout: 4", termination: "type: fixed\nmax: 2" });
  expect((await sessions(["start", "quiet", "--root", root.path], { tmux: tmux.dir })).code).toBe(0);
  const doc = await until(async () => {
    const d = (await sessions(["status", "quiet", "--json", "--root", root.path], { tmux: tmux.dir })).json();
    return d.stalled ? d : null;
  }, 10_000, "the stalled flag");
  expect(doc.status).toBe("running");
  const row = (await sessions(["list", "--json", "--root", root.path], { tmux: tmux.dir })).json().sessions[0];
  expect(row).toMatchObject({ session: "quiet", status: "running", stalled: true });
  const end = await until(async () => {
    const s = await state(root.path, "quiet");
    return s.status !== "running" ? s : null;
  }, 15_000, "the timeout");
  expect(end.status).toBe("failed");
  expect(end.error.kind).toBe("timeout");
}, 30_000);
