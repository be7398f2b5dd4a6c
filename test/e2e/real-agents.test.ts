/**
 * The real Claude Code and Codex CLIs (the pinned versions of src/lib/tested-agents.ts, installed by
 * .ci/run) driven by the compiled binary against fake model servers on 127.0.0.1 (test/models).
 * Skipped when the CLIs are not installed, except in CI, where that fails.
 */
import { describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { procStat } from "../../src/lib/proc.ts";
import { gone, privateTmux, readJson, runDir, sessions, tempRoot, until } from "../helpers.ts";
import { TESTED_AGENTS } from "../../src/lib/tested-agents.ts";
import { AGENTS_REQUIRED, agentHome, missingAgents } from "../models/agents.ts";
import { anthropicServer, type ClaudeReply, type ClaudeRequest } from "../models/anthropic.ts";
import type { ModelServer } from "../models/common.ts";
import { type CodexReply, type CodexRequest, openaiServer } from "../models/openai.ts";

const missing = missingAgents();
if (missing.length && !AGENTS_REQUIRED) console.warn(`real-agent tests skipped: not installed: ${missing.join(", ")} (bash .ci/run installs them)`);
if (missing.length && AGENTS_REQUIRED) {
  test("the pinned agent CLIs are installed", () => {
    throw new Error(`not installed: ${missing.join(", ")}; .ci/run installs them into SESSIONS_TEST_AGENTS_DIR`);
  });
}

/** Every test names what it needs in its prompt: the server's script reads it from there. */
const PROMPT = "STATUS=${STATUS}\nOUTPUT=${OUTPUT}\nITERATION=${ITERATION}\nINPUTS=${INPUTS}\nWrite the status file.\n";
const field = (text: string, key: string) => new RegExp(`^${key}=(.*)$`, "m").exec(text)?.[1]?.trim() ?? "";

type Decide = (prompt: string) => Record<string, unknown>;
const decide = (decision: string, summary: (prompt: string) => string = (p) => `iteration ${field(p, "ITERATION")}`): Decide => (p) => ({ decision, reason: "scripted", summary: summary(p) });

/** Claude writes status.json with its Write tool, then ends its turn with text. */
const claudeWrites = (d: Decide) => (r: ClaudeRequest): ClaudeReply =>
  r.afterTool ? { text: "Status written.", usage: { input: 300, output: 10, cacheRead: 200 } } : { tool: "Write", input: { file_path: field(r.prompt, "STATUS"), content: JSON.stringify(d(r.prompt)) }, usage: { input: 200, output: 40, cacheWrite: 100 } };

/** Codex writes status.json with exec_command (or apply_patch), then ends its turn with text. */
const codexWrites = (d: Decide, how: (prompt: string) => "exec" | "patch" = () => "exec") => (r: CodexRequest): CodexReply => {
  if (r.afterTool) return { text: "Status written.", usage: { input: 400, output: 10, cacheRead: 300 } };
  const path = field(r.prompt, "STATUS");
  const json = JSON.stringify(d(r.prompt));
  return how(r.prompt) === "patch"
    ? { tool: "apply_patch", input: `*** Begin Patch\n*** Add File: ${path}\n+${json}\n*** End Patch\n` }
    : { tool: "exec_command", input: { cmd: `printf '%s' '${json}' > '${path}'` } };
};

function stage(root: string, name: string, provider: "claude" | "codex", o: { termination?: string; extra?: string } = {}) {
  const dir = join(root, ".claude", "pipelines", "stages", name);
  mkdirSync(dir, { recursive: true });
  const termination = (o.termination ?? "type: fixed\nmax: 3").split("\n").map((l) => `  ${l}`);
  writeFileSync(join(dir, "stage.yaml"), [`name: ${name}`, `provider: ${provider}`, "termination:", ...termination, "delay: 0", o.extra ?? "timeout: 60", ""].join("\n"));
  writeFileSync(join(dir, "prompt.md"), PROMPT);
}

/** A run with its own tmux server: the engine in tmux inherits the server's environment, so each test's HOME and model URLs need a server of their own. */
async function setup(servers: { anthropic?: ModelServer; openai?: ModelServer }, git = true) {
  const home = agentHome({ anthropic: servers.anthropic?.url, openai: servers.openai?.url });
  const root = tempRoot({ git });
  const tmux = privateTmux();
  const run = (args: string[]) => sessions([...args, "--root", root.path], { tmux: tmux.dir, env: home.env });
  return {
    root: root.path,
    env: home.env,
    run,
    foreground: async (target: string) => {
      const r = await run(["start", target, "--foreground", "--json"]);
      return { ...r, doc: r.stdout ? r.json() : null };
    },
    state: (session: string) => readJson(join(runDir(root.path, session), "state.json")),
    /** The status document: the state plus what it derives (history, totals). */
    status: async (session: string) => (await run(["status", session, "--json"])).json(),
    iteration: (session: string, rel: string) => join(runDir(root.path, session), rel),
    async [Symbol.asyncDispose]() {
      tmux.kill();
      root[Symbol.dispose]();
      home[Symbol.dispose]();
      await Promise.all([servers.anthropic?.stop(), servers.openai?.stop()]);
    },
  };
}

const lines = (path: string) => readFileSync(path, "utf8").trim().split("\n").map((l) => JSON.parse(l));
const summaries = (doc: any) => doc.history.map((h: any) => [h.iteration, h.decision, h.summary, h.error_kind]);

/** No process of the group is left (zombies awaiting a lazy reaper do not count). */
function groupGone(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
  } catch {
    return true;
  }
  return gone(pgid);
}

describe.skipIf(missing.length > 0)("real claude and codex", () => {
  // First: the longest (a minute's backoff), so the others run beside them.
  const limits = [
    ["claude", { fault: "status", status: 429, headers: { "retry-after": "1", "anthropic-ratelimit-requests-remaining": "0" } }, "(429)"],
    ["codex", { fault: "status", status: 429, headers: { "retry-after": "1", "x-ratelimit-remaining-requests": "0" } }, "429 Too Many Requests"],
  ] as const;
  test.concurrent.each(limits)("%s: a 429 waits (waiting_until), then the same iteration is retried without counting", async (provider, fault, message) => {
    let limited = 0;
    const once = <R>(ok: (r: any) => R) => (r: any) => (r.turn === 0 && !limited++ ? fault : ok(r));
    const servers = provider === "claude" ? { anthropic: await anthropicServer(once(claudeWrites(decide("stop")))) } : { openai: await openaiServer(once(codexWrites(decide("stop")))) };
    await using t = await setup(servers);
    stage(t.root, "l", provider, { termination: "type: fixed\nmax: 2" });
    expect((await t.run(["start", "l", "--json"])).code).toBe(0);
    const waiting = await until(async () => {
      const st = (await t.run(["status", "l", "--json"])).json();
      return st.waiting_until ? st : null;
    }, 20_000, "the limit wait");
    expect(waiting.waiting_reason).toContain(message);
    expect(Date.parse(waiting.waiting_until)).toBeGreaterThan(Date.now());
    expect(waiting.iteration_completed).toBe(0);
    // No reset time in a plain 429: the engine backs off one minute, then retries iteration 1.
    const w = await t.run(["wait", "l", "--timeout", "100"]);
    const doc = await t.status("l");
    expect(summaries(doc)).toEqual([
      [1, "failed", null, "limit"],
      [1, "stop", "iteration 1", null],
    ]);
    expect(doc.totals).toMatchObject({ iterations: 1 });
    expect(w.code).toBe(0);
  }, 120_000);

  test.concurrent("claude: a 3-iteration loop in tmux; output.md and agent.jsonl hold the real stream", async () => {
    await using t = await setup({ anthropic: await anthropicServer(claudeWrites(decide("continue"))) });
    stage(t.root, "cl", "claude");
    expect((await t.run(["start", "cl", "--json"])).code).toBe(0);
    const w = await t.run(["wait", "cl", "--timeout", "60"]);
    const doc = await t.status("cl");
    expect(summaries(doc)).toEqual([1, 2, 3].map((n) => [n, "continue", `iteration ${n}`, null]));
    expect(w.code).toBe(0);
    expect(doc.status).toBe("complete");
    // Claude Code's own price for the usage the server reported, summed over the iterations.
    expect(doc.totals.cost_usd).toBeGreaterThan(0);
    expect(doc.history.every((h: any) => h.cost_usd > 0)).toBe(true);
    const it = t.iteration("cl", "stage-00-cl/iterations/003");
    const events = lines(join(it, "agent.jsonl"));
    expect(events.map((e) => e.type)).toEqual(["system", "assistant", "user", "assistant", "result"]);
    expect(events.at(-1)).toMatchObject({ type: "result", is_error: false, num_turns: 2, usage: { input_tokens: 500, output_tokens: 50 } });
    const out = readFileSync(join(it, "output.md"), "utf8");
    expect(out).toContain(`→ Write: ${join(it, "status.json")}`);
    expect(out).toContain("Status written.");
  }, 60_000);

  test.concurrent("codex: a 3-iteration loop in the foreground with exec_command and apply_patch", async () => {
    const how = (p: string) => (field(p, "ITERATION") === "2" ? "patch" : "exec");
    await using t = await setup({ openai: await openaiServer(codexWrites(decide("continue"), how)) });
    stage(t.root, "cx", "codex");
    const r = await t.foreground("cx");
    expect(summaries(r.doc)).toEqual([1, 2, 3].map((n) => [n, "continue", `iteration ${n}`, null]));
    expect(r.code).toBe(0);
    // Codex reports tokens, never a price.
    expect(r.doc.history.map((h: any) => h.cost_usd)).toEqual([null, null, null]);
    const out = (n: number) => readFileSync(t.iteration("cx", `stage-00-cx/iterations/00${n}/output.md`), "utf8");
    expect(out(1)).toContain("→ /bin/bash -lc");
    expect(out(2)).toContain(`→ edited ["${t.iteration("cx", "stage-00-cx/iterations/002/status.json")}"]`);
    expect(out(3)).toContain("Status written.");
    const events = lines(t.iteration("cx", "stage-00-cx/iterations/002/agent.jsonl"));
    expect(events.map((e) => e.type)).toEqual(["thread.started", "turn.started", "item.started", "item.completed", "item.completed", "turn.completed"]);
    expect(events.at(-1).usage).toMatchObject({ input_tokens: 500, cached_input_tokens: 300, output_tokens: 30 });
  }, 60_000);

  test.concurrent("a judgment stage: codex votes stop, the real claude judges, the stage ends at consensus", async () => {
    const judge = (r: ClaudeRequest): ClaudeReply => {
      const verdict = /Write your verdict as JSON to the file (\S+?),/.exec(r.prompt)?.[1];
      if (!verdict) return { text: "not a judge request" };
      return r.afterTool ? { text: "Verdict written." } : { tool: "Write", input: { file_path: verdict, content: JSON.stringify({ stop: true, reason: "the real judge agrees", confidence: 0.9 }) } };
    };
    await using t = await setup({ anthropic: await anthropicServer(judge), openai: await openaiServer(codexWrites(decide("stop"))) });
    stage(t.root, "jd", "codex", { termination: "type: judgment\nmax: 5\nmin_iterations: 1\nconsensus: 2\njudge: { provider: claude }" });
    const r = await t.foreground("jd");
    expect(r.doc.iteration_completed).toBe(2);
    expect(r.code).toBe(0);
    const judged = lines(join(runDir(t.root, "jd"), "events.jsonl")).filter((e) => e.type === "judge_complete");
    expect(judged.map((e) => e.data)).toEqual([{ status: "ok", stop: true, reason: "the real judge agrees" }]);
    expect(readFileSync(t.iteration("jd", "stage-00-jd/iterations/002/judge.log"), "utf8")).toContain("→ Write:");
  }, 60_000);

  test.concurrent("a pipeline: claude writes the first node's output, codex reads it in the second", async () => {
    const writer = (r: ClaudeRequest): ClaudeReply => {
      if (r.turn === 0) return { tool: "Write", input: { file_path: field(r.prompt, "OUTPUT"), content: "PLAN-7f3a: build the thing\n" } };
      if (r.turn === 1) return { tool: "Write", input: { file_path: field(r.prompt, "STATUS"), content: JSON.stringify({ decision: "stop", summary: "planned" }) } };
      return { text: "Planned." };
    };
    const reader = (r: CodexRequest): CodexReply => {
      if (r.turn === 0) return { tool: "exec_command", input: { cmd: `cat '${field(r.prompt, "INPUTS")}'` } };
      if (r.turn === 1) {
        const read = /PLAN-[0-9a-f]+[^\n]*/.exec(r.toolResult)?.[0] ?? "nothing";
        return codexWrites(() => ({ decision: "stop", summary: `read: ${read}` }))({ ...r, afterTool: false });
      }
      return { text: "Done." };
    };
    await using t = await setup({ anthropic: await anthropicServer(writer), openai: await openaiServer(reader) });
    stage(t.root, "plan", "claude", { termination: "type: fixed\nmax: 1" });
    stage(t.root, "build", "codex", { termination: "type: fixed\nmax: 1" });
    const file = join(t.root, "two.yaml");
    writeFileSync(file, "name: two\nnodes:\n  - id: plan\n    stage: plan\n  - id: build\n    stage: build\n    inputs: { from: plan }\n");
    const r = await t.foreground(file);
    expect(r.doc.history.map((h: any) => [h.stage, h.summary])).toEqual([
      ["plan", "planned"],
      ["build", "read: PLAN-7f3a: build the thing"],
    ]);
    expect(r.code).toBe(0);
  }, 60_000);

  test.concurrent("a parallel block: claude and codex side by side, each in its own worktree", async () => {
    const servers = { anthropic: await anthropicServer(claudeWrites(decide("continue", () => "by claude"))), openai: await openaiServer(codexWrites(decide("continue", () => "by codex"))) };
    await using t = await setup(servers);
    stage(t.root, "review", "claude", { termination: "type: fixed\nmax: 2" });
    const file = join(t.root, "pair.yaml");
    writeFileSync(file, "name: pair\nnodes:\n  - id: block\n    parallel:\n      providers: [claude, codex]\n      stages: [ { id: review, stage: review } ]\n");
    const r = await t.foreground(file);
    expect(r.doc.status).toBe("complete");
    expect(r.code).toBe(0);
    const manifest = await readJson(join(runDir(t.root, "pair"), "parallel-00-block", "manifest.json"));
    for (const [p, srv] of [["claude", servers.anthropic], ["codex", servers.openai]] as const) {
      expect(manifest.providers[p]).toMatchObject({ status: "complete", stages: { review: { status: "complete", iterations: 2 } } });
      const worktree = manifest.providers[p].worktree.path;
      expect(worktree).toBe(join(runDir(t.root, "pair"), "parallel-00-block", "providers", p, "worktree"));
      // The CLI tells its model where it works: in its own worktree.
      expect(JSON.stringify(srv.requests[0])).toContain(worktree);
    }
    expect(r.doc.history.map((h: any) => `${h.provider} ${h.summary}`).sort()).toEqual(["claude by claude", "claude by claude", "codex by codex", "codex by codex"]);
  }, 60_000);

  test.concurrent.each(["claude", "codex"] as const)("%s: kill mid-iteration ends the real CLI and the command it runs", async (provider) => {
    const marker = (p: string) => join(field(p, "STATUS"), "..", "command.pid");
    // Claude Code's Bash refuses a long `sleep`: `tail -f` waits as long.
    const sleeper = (p: string) => `${provider === "claude" ? "tail -f /dev/null" : "sleep 300"} & echo $! > '${marker(p)}'; wait`;
    const servers =
      provider === "claude"
        ? { anthropic: await anthropicServer((r) => (r.afterTool ? { text: "slept" } : { tool: "Bash", input: { command: sleeper(r.prompt), description: "sleep" } })) }
        : { openai: await openaiServer((r) => (r.afterTool ? { text: "slept" } : { tool: "exec_command", input: { cmd: sleeper(r.prompt), yield_time_ms: 30000 } })) };
    await using t = await setup(servers);
    stage(t.root, "k", provider);
    expect((await t.run(["start", "k", "--json"])).code).toBe(0);
    const pidFile = t.iteration("k", "stage-00-k/iterations/001/command.pid");
    const sleepPid = await until(() => (existsSync(pidFile) ? Number(readFileSync(pidFile, "utf8")) : 0), 20_000, "the agent's command to run");
    const s = await t.state("k");
    const agent: number = s.agent_pgids[0];
    // Both CLIs run commands in a session of their own: outside the group sessions started.
    expect(Number(procStat(sleepPid)![2])).not.toBe(agent);
    expect(gone(agent)).toBe(false);
    const r = await t.run(["kill", "k", "--yes", "--json"]);
    expect(r.json()).toMatchObject({ session: "k", status: "killed" });
    expect(r.code).toBe(0);
    await until(() => groupGone(agent) && gone(sleepPid), 5000, "the agent and its command to end");
  }, 60_000);

  test.concurrent.each(["claude", "codex"] as const)("%s: a model server that never answers is a timeout, the CLI killed", async (provider) => {
    const servers = provider === "claude" ? { anthropic: await anthropicServer(() => ({ fault: "hang" })) } : { openai: await openaiServer(() => ({ fault: "hang" })) };
    await using t = await setup(servers);
    stage(t.root, "h", provider, { extra: "timeout: 10" });
    const r = await t.foreground("h");
    expect(r.doc.error).toMatchObject({ kind: "timeout", iteration: 1 });
    expect(r.doc.error.message).toMatch(new RegExp(`${provider} timed out after \\d+s and was killed`));
    expect(r.code).toBe(1);
    expect((servers.anthropic ?? servers.openai)!.hanging()).toBe(1);
  }, 60_000);

  const faults = [
    ["claude", "401", "auth", "Invalid API key"],
    ["claude", "500", "agent_error", "API Error: 500"],
    ["claude", "drop", "network", "Connection dropped"],
    ["codex", "401", "auth", "401 Unauthorized"],
    ["codex", "500", "agent_error", "high demand"],
    ["codex", "drop", "network", "stream disconnected before completion"],
  ] as const;
  test.concurrent.each(faults)("%s: a %s from the model server fails the session as %s", async (provider, fault, kind, message) => {
    const reply = fault === "drop" ? ({ fault: "drop" } as const) : ({ fault: "status", status: Number(fault) } as const);
    const servers = provider === "claude" ? { anthropic: await anthropicServer(() => reply) } : { openai: await openaiServer(() => reply) };
    await using t = await setup(servers);
    stage(t.root, "f", provider);
    const r = await t.foreground("f");
    expect(r.doc.error).toMatchObject({ kind, iteration: 1 });
    expect(r.doc.error.message).toContain(message);
    expect(r.doc.history.map((h: any) => h.error_kind)).toEqual([kind]);
    expect(r.code).toBe(1);
    // The real stream of the failed run is kept.
    expect(readFileSync(t.iteration("f", "stage-00-f/iterations/001/output.md"), "utf8")).toContain(message);
    expect(existsSync(t.iteration("f", "stage-00-f/iterations/001/agent.jsonl"))).toBe(true);
  }, 60_000);

  test.concurrent.each(["claude", "codex"] as const)("%s: 529 overloaded is a limit too: the session waits, not fails", async (provider) => {
    const reply = { fault: "status", status: 529 } as const;
    const servers = provider === "claude" ? { anthropic: await anthropicServer(() => reply) } : { openai: await openaiServer(() => reply) };
    await using t = await setup(servers);
    stage(t.root, "o", provider);
    expect((await t.run(["start", "o", "--json"])).code).toBe(0);
    const st = await until(async () => {
      const s = (await t.run(["status", "o", "--json"])).json();
      return s.waiting_until ? s : null;
    }, 20_000, "the limit wait");
    expect(st.status).toBe("running");
    expect(st.waiting_reason).toMatch(/overloaded/i);
    expect((await t.run(["kill", "o", "--yes", "--json"])).code).toBe(0);
  }, 60_000);

  test.concurrent("skill install: the real Claude Code offers the installed skill to the model", async () => {
    const srv = await anthropicServer(claudeWrites(decide("stop")));
    await using t = await setup({ anthropic: srv });
    expect((await t.run(["skill", "install"])).code).toBe(0);
    stage(t.root, "sk", "claude", { termination: "type: fixed\nmax: 1" });
    const r = await t.foreground("sk");
    expect(r.code).toBe(0);
    const description = /^description: (.{60})/m.exec(readFileSync(join(t.root, ".claude", "skills", "sessions", "SKILL.md"), "utf8"))![1]!;
    const offered = JSON.stringify(srv.requests[0]);
    expect(offered).toContain(description);
    expect(offered).toMatch(/"sessions"|- sessions:|\bsessions\b: /);
  }, 60_000);

  test.concurrent("doctor: each agent CLI's version beside the version the tests cover", async () => {
    await using t = await setup({});
    const r = await t.run(["doctor", "--json"]);
    const checks = r.json().checks;
    expect(checks.find((c: any) => c.name === "claude").detail).toStartWith(`${t.env.SESSIONS_CLAUDE_BIN} (${TESTED_AGENTS.claude.version} (Claude Code)), the tested version;`);
    expect(checks.find((c: any) => c.name === "codex").detail).toStartWith(`${t.env.SESSIONS_CODEX_BIN} (codex-cli ${TESTED_AGENTS.codex.version}), the tested version;`);
    const other = join(t.root, "other-claude");
    writeFileSync(other, "#!/bin/sh\necho '2.1.999 (Claude Code)'\n", { mode: 0o755 });
    const older = (await sessions(["doctor", "--json", "--root", t.root], { env: { ...t.env, SESSIONS_CLAUDE_BIN: other } })).json();
    expect(older.checks.find((c: any) => c.name === "claude").detail).toStartWith(`${other} (2.1.999 (Claude Code)), tested with ${TESTED_AGENTS.claude.version};`);
  }, 30_000);
});
