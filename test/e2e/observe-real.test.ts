/**
 * Usage, totals and budgets with the real Claude Code and Codex CLIs (test/models: fake model servers
 * on 127.0.0.1). Skipped when the pinned CLIs are not installed, except in CI.
 */
import { describe, expect, test } from "bun:test";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { privateTmux, sessions, tempRoot } from "../helpers.ts";
import { AGENTS_REQUIRED, agentHome, missingAgents } from "../models/agents.ts";
import { anthropicServer, type ClaudeRequest } from "../models/anthropic.ts";
import { openaiServer, type CodexRequest } from "../models/openai.ts";

const missing = missingAgents();
const run = missing.length && !AGENTS_REQUIRED ? describe.skip : describe;

const field = (text: string, key: string) => new RegExp(`^${key}=(.*)$`, "m").exec(text)?.[1]?.trim() ?? "";
const status = (p: string) => JSON.stringify({ decision: "continue", reason: "scripted", summary: `iteration ${field(p, "ITERATION")}` });

function stage(root: string, name: string, provider: "claude" | "codex", extra = "") {
  const dir = join(root, ".claude", "pipelines", "stages", name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "stage.yaml"), `name: ${name}\nprovider: ${provider}\ntermination:\n  type: fixed\n  max: 3\ndelay: 0\ntimeout: 60\n${extra}`);
  writeFileSync(join(dir, "prompt.md"), "STATUS=${STATUS}\nITERATION=${ITERATION}\nWrite the status file.\n");
}

run("usage with the real CLIs", () => {
  test("claude: each iteration's usage and cost as the CLI reported them; the totals are their sums", async () => {
    const server = await anthropicServer((r: ClaudeRequest) =>
      r.afterTool ? { text: "Status written.", usage: { input: 300, output: 10, cacheRead: 200 } } : { tool: "Write", input: { file_path: field(r.prompt, "STATUS"), content: status(r.prompt) }, usage: { input: 200, output: 40, cacheWrite: 100 } },
    );
    using home = agentHome({ anthropic: server.url });
    using root = tempRoot();
    const tmux = privateTmux();
    try {
      stage(root.path, "c", "claude");
      const r = await sessions(["start", "c", "--foreground", "--json", "--root", root.path], { tmux: tmux.dir, env: home.env });
      const doc = r.json();
      r.expectExit(0);
      expect(doc.history.length).toBe(3);
      for (const h of doc.history) {
        expect(h.usage).toMatchObject({ input_tokens: 500, output_tokens: 50, cache_read_tokens: 200, cache_write_tokens: 100, turns: 2 });
        expect(h.usage.cost_usd).toBeGreaterThan(0);
        expect(h.cost_usd).toBe(h.usage.cost_usd);
      }
      const sum = doc.history.reduce((s: number, h: any) => s + h.usage.cost_usd, 0);
      expect(doc.totals.cost_usd).toBeCloseTo(sum, 6);
      expect(doc.totals.tokens).toEqual({ input: 1500, output: 150, cache_read: 600, cache_write: 300 });
    } finally {
      tmux.kill();
      await server.stop();
    }
  }, 120_000);

  test("codex: tokens only (cost null, never guessed); a token budget stops it and resume with a higher one goes on", async () => {
    const server = await openaiServer((r: CodexRequest) =>
      r.afterTool ? { text: "Status written.", usage: { input: 400, output: 10, cacheRead: 300 } } : { tool: "exec_command", input: { cmd: `printf '%s' '${status(r.prompt)}' > '${field(r.prompt, "STATUS")}'` } },
    );
    using home = agentHome({ openai: server.url });
    using root = tempRoot();
    const tmux = privateTmux();
    try {
      stage(root.path, "x", "codex");
      const r = await sessions(["start", "x", "--budget-tokens", "1", "--foreground", "--json", "--root", root.path], { tmux: tmux.dir, env: home.env });
      const doc = r.json();
      expect(doc.history.length).toBe(1);
      expect(doc.history[0].usage.cost_usd).toBeNull();
      expect(doc.history[0].usage.input_tokens).toBeGreaterThan(0);
      expect(doc.totals.cost_usd).toBeNull();
      expect(doc.error.kind).toBe("budget");
      expect(r.code).toBe(1);
      const again = await sessions(["resume", "x", "--budget-tokens", "100000000", "--foreground", "--json", "--root", root.path], { tmux: tmux.dir, env: home.env });
      const after = again.json();
      again.expectExit(0);
      expect(after.history.length).toBe(3);
      const tokens = after.history.reduce((s: number, h: any) => s + h.usage.input_tokens + h.usage.output_tokens + h.usage.cache_write_tokens, 0);
      expect(after.budget.spent_tokens).toBe(tokens);
    } finally {
      tmux.kill();
      await server.stop();
    }
  }, 180_000);
});
