/** The engine end to end: the compiled binary, a real (private) tmux, the scripted fake agent. */
import { afterAll, describe, expect, test } from "bun:test";
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BIN, fakeStage, gone, privateTmux, readJson, runDir, sessions, tempRoot, until } from "../helpers.ts";

const tmux = privateTmux();
afterAll(() => tmux.kill());

const records = (file: string) =>
  existsSync(file)
    ? readFileSync(file, "utf8")
        .trim()
        .split("\n")
        .filter(Boolean)
        .map((l) => JSON.parse(l))
    : [];

async function foreground(root: string, args: string[]) {
  const r = await sessions(["start", ...args, "--foreground", "--json", "--root", root], { tmux: tmux.dir });
  return { ...r, doc: r.stdout ? r.json() : null };
}

describe("termination", () => {
  test("fixed runs to max", async () => {
    using root = tempRoot();
    fakeStage(root.path, "loop", { script: "continue", termination: "type: fixed\nmax: 3" });
    const r = await foreground(root.path, ["loop"]);
    expect(r.code).toBe(0);
    expect(r.doc.status).toBe("complete");
    expect(r.doc.iteration_completed).toBe(3);
    expect(r.doc.history.map((h: any) => h.decision)).toEqual(["continue", "continue", "continue"]);
    expect(r.doc.completion_reason).toContain("max iterations (3)");
  }, 30_000);

  test("the CLI max overrides the definition's", async () => {
    using root = tempRoot();
    fakeStage(root.path, "loop", { script: "continue", termination: "type: fixed\nmax: 3" });
    const r = await foreground(root.path, ["loop", "five", "5"]);
    expect(r.doc.iteration_completed).toBe(5);
    expect(r.doc.session).toBe("five");
  }, 30_000);

  test("fixed ends early when the agent says stop", async () => {
    using root = tempRoot();
    fakeStage(root.path, "loop", { script: "continue,stop,continue", termination: "type: fixed\nmax: 5" });
    const r = await foreground(root.path, ["loop"]);
    expect(r.code).toBe(0);
    expect(r.doc.iteration_completed).toBe(2);
    expect(r.doc.completion_reason).toContain("stop at iteration 2");
  }, 30_000);

  test("judgment ends exactly at consensus and never before min_iterations", async () => {
    using root = tempRoot();
    // Stops from the start: min_iterations 3 holds it until 3, then two consecutive stops are already there.
    fakeStage(root.path, "early", { script: "stop", termination: "type: judgment\nmax: 8\nmin_iterations: 3\nconsensus: 2" });
    const a = await foreground(root.path, ["early"]);
    expect(a.doc.iteration_completed).toBe(3);
    // A streak broken by a continue must start over: stop, continue, stop, stop → ends at 4.
    fakeStage(root.path, "streak", { script: "stop,continue,stop,stop,continue", termination: "type: judgment\nmax: 8\nmin_iterations: 1\nconsensus: 2" });
    const b = await foreground(root.path, ["streak"]);
    expect(b.doc.iteration_completed).toBe(4);
    expect(b.doc.completion_reason).toContain("2 consecutive stop");
  }, 60_000);

  test("queue ends when its command prints nothing", async () => {
    using root = tempRoot();
    const queue = join(root.path, "queue.txt");
    writeFileSync(queue, "task-a\ntask-b\n");
    fakeStage(root.path, "drain", { script: "continue", termination: `type: queue\nmax: 10\ncommand: cat ${queue}`, agentArgs: `--pop ${queue}` });
    const r = await foreground(root.path, ["drain"]);
    expect(r.code).toBe(0);
    expect(r.doc.iteration_completed).toBe(2);
    expect(r.doc.completion_reason).toContain("queue is empty");
  }, 30_000);
});

describe("agent faults", () => {
  test("a failing agent fails the session with its stderr in the error", async () => {
    using root = tempRoot();
    fakeStage(root.path, "bad", { script: "continue,fail" });
    const r = await foreground(root.path, ["bad"]);
    expect(r.code).toBe(1);
    expect(r.doc.status).toBe("failed");
    expect(r.doc.error.message).toContain("sessions exited with code 3");
    expect(r.doc.error.message).toContain("simulated failure at iteration 2");
    expect(r.doc.error.kind).toBe("exit");
    expect(existsSync(join(root.path, ".claude/locks/bad.lock"))).toBe(false);
  }, 30_000);

  test("a hanging agent is killed at the timeout and its process is gone", async () => {
    using root = tempRoot();
    const rec = join(root.path, "rec.jsonl");
    fakeStage(root.path, "hang", { script: "hang", record: rec, extra: "timeout: 1" });
    const r = await foreground(root.path, ["hang"]);
    expect(r.code).toBe(1);
    expect(r.doc.error.kind).toBe("timeout");
    expect(r.doc.error.message).toContain("timed out");
    const [run] = records(rec);
    expect(gone(run.pid)).toBe(true);
  }, 30_000);

  test.each([
    ["garbage", "bad_status", "not valid JSON"],
    ["nostatus", "no_status", "no status.json"],
    ["baddecision", "bad_status", "decision must be continue, stop or error"],
  ])("an agent that writes %s fails the iteration", async (script, kind, message) => {
    using root = tempRoot();
    fakeStage(root.path, "s", { script });
    const r = await foreground(root.path, ["s"]);
    expect(r.code).toBe(1);
    expect(r.doc.error.kind).toBe(kind);
    expect(r.doc.error.message).toContain(message);
    expect(r.doc.history[0].decision).toBe("failed");
  }, 30_000);

  test("an error decision fails the session", async () => {
    using root = tempRoot();
    fakeStage(root.path, "s", { script: "continue,error" });
    const r = await foreground(root.path, ["s"]);
    expect(r.code).toBe(1);
    expect(r.doc.error.kind).toBe("agent_error");
    expect(r.doc.iteration_completed).toBe(2);
  }, 30_000);

  test("children that outlive the agent are killed with it", async () => {
    using root = tempRoot();
    fakeStage(root.path, "s", { script: "orphan,stop" });
    const r = await foreground(root.path, ["s"]);
    expect(r.code).toBe(0);
    const out = readFileSync(join(runDir(root.path, "s"), "stage-00-s/iterations/001/output.md"), "utf8");
    const pid = Number(/left child (\d+)/.exec(out)?.[1]);
    expect(pid).toBeGreaterThan(0);
    expect(gone(pid)).toBe(true);
  }, 30_000);
});

describe("the iteration contract", () => {
  test("context.json, the prompt on stdin, PIPELINE_* env, scrubbed CLAUDECODE/TMUX, progress file", async () => {
    using root = tempRoot();
    const rec = join(root.path, "rec.jsonl");
    fakeStage(root.path, "ctx", { script: "continue,stop", record: rec, prompt: "Read ${CTX}, write ${STATUS}, progress ${PROGRESS}, iteration ${ITERATION} (${SESSION} / ${INDEX}) ctx=${CONTEXT}\n" });
    const r = await sessions(["start", "ctx", "--foreground", "--json", "--root", root.path, "--context", "focus on auth"], {
      tmux: tmux.dir,
      env: { CLAUDECODE: "1", TMUX: "/tmp/fake,1,0" },
    });
    expect(r.code).toBe(0);
    const runs = records(rec);
    expect(runs.map((x) => x.iteration)).toEqual([1, 2]);
    expect(runs[0].claudecode).toBeNull();
    expect(runs[0].tmux).toBeNull();
    expect(runs[0].cwd).toBe(root.path);
    const dir = runDir(root.path, "ctx");
    const ctx = await readJson(join(dir, "stage-00-ctx/iterations/002/context.json"));
    expect(ctx.session).toBe("ctx");
    expect(ctx.iteration).toBe(2);
    expect(ctx.stage).toMatchObject({ id: "ctx", index: 0, template: "ctx" });
    expect(ctx.paths.status).toBe(join(dir, "stage-00-ctx/iterations/002/status.json"));
    expect(ctx.paths.progress).toBe(join(dir, "progress-ctx.md"));
    expect(ctx.inputs.from_previous_iterations).toEqual([join(dir, "stage-00-ctx/iterations/001/output.md")]);
    expect(ctx.limits).toEqual({ max_iterations: 3, remaining: 1 });
    expect(runs[1].ctx).toBe(join(dir, "stage-00-ctx/iterations/002/context.json"));
    const rendered = `Read ${ctx.paths.session_dir}/stage-00-ctx/iterations/002/context.json`;
    expect(runs[1].prompt_bytes).toBeGreaterThan(rendered.length);
    expect(existsSync(join(dir, "progress-ctx.md"))).toBe(true);
    const events = readFileSync(join(dir, "events.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l).type);
    expect(events).toEqual(["session_start", "node_start", "iteration_start", "iteration_complete", "iteration_start", "iteration_complete", "stage_complete", "node_complete", "session_complete"]);
    const output = readFileSync(join(dir, "stage-00-ctx/iterations/001/output.md"), "utf8");
    expect(output).toContain("fake agent: iteration 1");
    expect(readFileSync(join(dir, "engine.log"), "utf8")).toContain("fake agent: iteration 2");
  }, 30_000);

  test("--dry-run prints the plan and the first prompt and creates nothing", async () => {
    using root = tempRoot();
    fakeStage(root.path, "dry", { prompt: "Hello ${SESSION_NAME}, iteration ${ITERATION}\n" });
    const r = await sessions(["start", "dry", "--dry-run", "--json", "--root", root.path], { tmux: tmux.dir });
    expect(r.code).toBe(0);
    const doc = r.json();
    expect(doc.first_prompt).toBe("Hello dry, iteration 1\n");
    expect(doc.plan.nodes[0].termination.max).toBe(3);
    expect(existsSync(runDir(root.path, "dry"))).toBe(false);
  }, 15_000);
});

describe("start in tmux", () => {
  test("the demo runs three iterations in tmux and the session closes after", async () => {
    using root = tempRoot();
    const r = await sessions(["start", "demo", "--json", "--root", root.path], { tmux: tmux.dir });
    expect(r.code).toBe(0);
    const doc = r.json();
    expect(doc).toMatchObject({ session: "demo", target: "demo", tmux: "pipeline-demo", run_dir: runDir(root.path, "demo") });
    const ls = Bun.spawnSync(["tmux", "list-sessions", "-F", "#{session_name} #{@sessions_root}"], { env: { ...process.env, TMUX_TMPDIR: tmux.dir, TMUX: "" } });
    expect(ls.stdout.toString()).toContain(`pipeline-demo ${root.path}`);
    const state = await until(async () => {
      const s = await readJson(join(runDir(root.path, "demo"), "state.json"));
      return s.status !== "running" ? s : null;
    }, 20_000, "the demo to finish");
    expect(state.status).toBe("complete");
    expect(state.iteration_completed).toBe(3);
    await until(() => !Bun.spawnSync(["tmux", "has-session", "-t", "=pipeline-demo"], { env: { ...process.env, TMUX_TMPDIR: tmux.dir, TMUX: "" } }).success, 5000, "tmux to close");
    expect(existsSync(join(root.path, ".claude/locks/demo.lock"))).toBe(false);
  }, 30_000);

  test("start refuses a running session (exit 4) and a finished one", async () => {
    using root = tempRoot();
    fakeStage(root.path, "busy", { script: "sleep:30:continue" });
    const a = await sessions(["start", "busy", "--root", root.path], { tmux: tmux.dir });
    expect(a.code).toBe(0);
    const b = await sessions(["start", "busy", "--root", root.path], { tmux: tmux.dir });
    expect(b.stderr).toContain("is running (engine pid");
    expect(b.code).toBe(4);
    const c = await sessions(["start", "busy", "--foreground", "--root", root.path], { tmux: tmux.dir });
    expect(c.code).toBe(4);
    expect(c.stderr).toContain("is running");
    const state = await readJson(join(runDir(root.path, "busy"), "state.json"));
    process.kill(state.pid, "SIGTERM");
    const done = await until(async () => {
      const s = await readJson(join(runDir(root.path, "busy"), "state.json"));
      return s.status === "killed" ? s : null;
    }, 10_000, "killed state");
    expect(done.agent_pgids).toEqual([]);
    const again = await sessions(["start", "busy", "--foreground", "--root", root.path], { tmux: tmux.dir });
    expect(again.code).toBe(4);
    expect(again.stderr).toContain("already ran");
  }, 30_000);

  test("--force starts over and keeps the old run directory", async () => {
    using root = tempRoot();
    fakeStage(root.path, "twice", { script: "stop" });
    expect((await foreground(root.path, ["twice"])).code).toBe(0);
    const r = await foreground(root.path, ["twice", "--force"]);
    expect(r.code).toBe(0);
    const runs = readdirSync(join(root.path, ".claude/pipeline-runs")).filter((n) => n !== ".gitignore");
    expect(runs.length).toBe(2);
    expect(runs.some((n) => /^twice\.\d{8}T\d{6}$/.test(n))).toBe(true);
  }, 30_000);

  test("SIGTERM to the engine ends the agent, marks the state killed and drops the lock", async () => {
    using root = tempRoot();
    const rec = join(root.path, "rec.jsonl");
    fakeStage(root.path, "term", { script: "hang", record: rec });
    expect((await sessions(["start", "term", "--root", root.path], { tmux: tmux.dir })).code).toBe(0);
    const [agent] = await until(() => (records(rec).length ? records(rec) : null), 10_000, "the agent to run");
    const state = await readJson(join(runDir(root.path, "term"), "state.json"));
    process.kill(state.pid, "SIGTERM");
    const after = await until(async () => {
      const s = await readJson(join(runDir(root.path, "term"), "state.json"));
      // The state is final before the engine lets go of its lock.
      return s.status === "killed" && !existsSync(join(root.path, ".claude/locks/term.lock")) ? s : null;
    }, 5_000, "killed, and the lock gone");
    expect(after.error.kind).toBe("signal");
    expect(gone(agent.pid)).toBe(true);
  }, 30_000);
});

describe("bad input creates nothing", () => {
  test.each([["../evil"], ["Upper"], ["a b"], ["x;rm -rf"], ["$(id)"], ["-lead"], ["a".repeat(65)], ["new\nline"]])("session name %p is refused with exit 2", async (name) => {
    using root = tempRoot();
    const r = await sessions(["start", "demo", name, "--root", root.path], { tmux: tmux.dir });
    expect(r.code).toBe(2);
    expect(r.stderr.split("\n").filter(Boolean).length).toBeLessThanOrEqual(2);
    expect(existsSync(join(root.path, ".claude"))).toBe(false);
  });

  test("malformed YAML names the file and line, exit 2", async () => {
    using root = tempRoot();
    const dir = fakeStage(root.path, "broken");
    writeFileSync(join(dir, "stage.yaml"), "name: broken\ntermination:\n  type: fixed\n   max: 3\n");
    const r = await sessions(["start", "broken", "--root", root.path, "--json"], { tmux: tmux.dir });
    expect(r.code).toBe(2);
    expect(r.json().error.message).toMatch(/stage\.yaml:\d+/);
    expect(existsSync(runDir(root.path, "broken"))).toBe(false);
  });

  test("an unknown field is refused with its line", async () => {
    using root = tempRoot();
    const dir = fakeStage(root.path, "typo");
    writeFileSync(join(dir, "stage.yaml"), "name: typo\nprovider: command\ncommand: echo\ntermination:\n  type: fixed\n  maxx: 3\n");
    const r = await sessions(["start", "typo", "--root", root.path], { tmux: tmux.dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("stage.yaml:6 termination.maxx: unknown field");
  });

  test.each([["0"], ["-3"], ["100000"], ["2.5"], ["lots"]])("max %p is refused", async (max) => {
    using root = tempRoot();
    const r = await sessions(["start", "demo", "d", max, "--root", root.path], { tmux: tmux.dir });
    expect(r.code).toBe(2);
    expect(existsSync(join(root.path, ".claude"))).toBe(false);
  });

  test("a YAML alias bomb is refused, not expanded", async () => {
    using root = tempRoot();
    const dir = fakeStage(root.path, "bomb");
    const lines = ["a: &a [x, x, x, x, x, x, x, x, x, x]"];
    for (let i = 1; i < 9; i++) lines.push(`${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(10).fill(`*${String.fromCharCode(96 + i)}`).join(", ")}]`);
    writeFileSync(join(dir, "stage.yaml"), lines.join("\n") + "\n");
    const r = await sessions(["start", "bomb", "--root", root.path], { tmux: tmux.dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("stage.yaml");
    expect(existsSync(runDir(root.path, "bomb"))).toBe(false);
  });

  test("a definition over 1 MB is refused", async () => {
    using root = tempRoot();
    const dir = fakeStage(root.path, "huge");
    writeFileSync(join(dir, "stage.yaml"), `description: "${"x".repeat(1_100_000)}"\n`);
    const r = await sessions(["start", "huge", "--root", root.path], { tmux: tmux.dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("larger than");
  });

  test("a prompt with an unknown variable is refused with its line", async () => {
    using root = tempRoot();
    fakeStage(root.path, "vars", { prompt: "Line one\nUse ${CTX} and ${NOT_A_VAR}\n" });
    const r = await sessions(["start", "vars", "--root", root.path], { tmux: tmux.dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("prompt.md:2");
    expect(r.stderr).toContain("${NOT_A_VAR}");
  });

  test.each([["--delay", "-1"], ["--delay", "999999999"], ["--timeout", "0"], ["--timeout", "abc"]])("%s %s is refused", async (flag, value) => {
    using root = tempRoot();
    const r = await sessions(["start", "demo", flag, value, "--root", root.path], { tmux: tmux.dir });
    expect(r.code).toBe(2);
    expect(existsSync(join(root.path, ".claude"))).toBe(false);
  });

  test.each([["../../etc/passwd"], ["a;b"], ["$(id)"], ["UPPER"]])("target %p is refused", async (target) => {
    using root = tempRoot();
    const r = await sessions(["start", target, "--root", root.path], { tmux: tmux.dir });
    expect([2, 3]).toContain(r.code);
    expect(existsSync(join(root.path, ".claude"))).toBe(false);
  });

  test("a missing --input file is refused", async () => {
    using root = tempRoot();
    const r = await sessions(["start", "demo", "--input", "nope.md", "--root", root.path], { tmux: tmux.dir, cwd: root.path });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("nope.md does not exist");
  });

  test("an unknown flag is refused with a suggestion", async () => {
    const r = await sessions(["start", "demo", "--forground"], { tmux: tmux.dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("--foreground");
  });

  test("an unknown target lists what exists", async () => {
    using root = tempRoot();
    const r = await sessions(["start", "nosuch", "--root", root.path], { tmux: tmux.dir });
    expect(r.code).toBe(3);
    expect(r.stderr).toContain("demo");
  });

  test("a missing agent CLI is reported before anything starts (exit 5)", async () => {
    using root = tempRoot();
    const r = await sessions(["start", "demo", "--provider", "claude", "--root", root.path, "--json"], {
      tmux: tmux.dir,
      env: { PATH: "/nonexistent", SESSIONS_CLAUDE_BIN: undefined },
    });
    expect(r.code).toBe(5);
    expect(r.json().error.message).toContain("claude is not installed");
    expect(existsSync(join(root.path, ".claude"))).toBe(false);
  });

  test("a queue command that is not installed is reported before anything starts (exit 5)", async () => {
    using root = tempRoot();
    fakeStage(root.path, "q", { termination: "type: queue\ncommand: no-such-queue-tool ready" });
    const r = await sessions(["start", "q", "--root", root.path], { tmux: tmux.dir });
    expect(r.code).toBe(5);
    expect(r.stderr).toContain("the queue command of stage q: no-such-queue-tool not found");
    expect(existsSync(join(root.path, ".claude/pipeline-runs"))).toBe(false);
  });

  test("missing tmux is exit 5 with how to install it; --foreground does not need it", async () => {
    using root = tempRoot();
    const bin = join(root.path, "bin");
    mkdirSync(bin);
    const r = await sessions(["start", "demo", "--root", root.path], { tmux: tmux.dir, env: { PATH: bin } });
    expect(r.code).toBe(5);
    expect(r.stderr).toContain("tmux is not installed");
    expect(existsSync(join(root.path, ".claude"))).toBe(false);
  });
});

test("the binary runs with a PATH that has no bun and no node", async () => {
  using root = tempRoot();
  const bin = join(root.path, "bin");
  mkdirSync(bin);
  for (const tool of ["tmux", "git", "sh"]) {
    const p = Bun.which(tool);
    if (p) symlinkSync(p, join(bin, tool));
  }
  expect(Bun.spawnSync([join(bin, "sh"), "-c", "command -v bun node"], { env: { PATH: bin } }).stdout.toString()).toBe("");
  const v = Bun.spawnSync([BIN, "--version"], { env: { PATH: bin } });
  expect(v.stdout.toString().trim()).toMatch(/^\d+\.\d+\.\d+/);
  fakeStage(root.path, "nobun", { script: "continue,stop" });
  const r = await sessions(["start", "nobun", "--foreground", "--json", "--root", root.path], { tmux: tmux.dir, env: { PATH: bin } });
  expect(r.code).toBe(0);
  expect(r.json().iteration_completed).toBe(2);
}, 30_000);

test("--notify sends a desktop notification when the session ends", async () => {
  using root = tempRoot();
  const bin = join(root.path, "bin");
  mkdirSync(bin);
  const log = join(root.path, "notified.txt");
  writeFileSync(join(bin, "notify-send"), `#!/bin/sh\nprintf '%s\\n' "$@" > ${log}\n`);
  chmodSync(join(bin, "notify-send"), 0o755);
  fakeStage(root.path, "note", { script: "continue,stop" });
  const r = await sessions(["start", "note", "--notify", "--foreground", "--json", "--root", root.path], { tmux: tmux.dir, env: { PATH: `${bin}:${process.env.PATH}` } });
  expect(r.code).toBe(0);
  expect(readFileSync(log, "utf8").split("\n")).toEqual(["--app-name=sessions", "sessions: note complete", "note, 2 iteration(s): agent asked to stop at iteration 2", ""]);
}, 30_000);
