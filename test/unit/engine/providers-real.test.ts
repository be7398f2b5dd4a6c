/** The providers' parsers on real streams: Claude Code 2.1.332 and Codex 0.171.0 against the fake model servers (test/models). */
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import * as v from "valibot";
import { ClaudeParser } from "../../../src/engine/providers/claude.ts";
import { CodexParser, classifyCodex } from "../../../src/engine/providers/codex.ts";
import { type ReportingParser, UsageSchema } from "../../../src/engine/providers/types.ts";

const FIXTURES = join(import.meta.dir, "..", "..", "fixtures", "agents");

function feed(parser: ReportingParser, file: string) {
  let shown = "";
  for (const line of readFileSync(join(FIXTURES, file), "utf8").split("\n")) shown += parser.line(line);
  const report = parser.report();
  if (report.usage) v.parse(UsageSchema, report.usage);
  return { shown, report };
}

describe("claude 2.1.332", () => {
  test("two turns (Write, then text): success, usage summed over turns, the CLI's cost, the session's model", () => {
    const { shown, report } = feed(new ClaudeParser(), "claude-2.1.332-success.jsonl");
    expect(report).toMatchObject({ isError: false, kind: null, message: "Wrote the status.", costUsd: 0.0015050000000000003 });
    // The fake server reported 200+300 input, 30+10 output, 50 cache reads, 40 cache writes.
    expect(report.usage).toEqual({ input_tokens: 500, output_tokens: 40, cache_read_tokens: 50, cache_write_tokens: 40, cost_usd: 0.0015050000000000003, turns: 2, model: "claude-sonnet-5-5" });
    expect(shown).toContain("→ Write: /tmp/rt/");
    // The result repeats the last assistant text: shown once.
    expect(shown.split("Wrote the status.").length - 1).toBe(1);
  });
  test.each([
    ["auth", "auth", "Invalid API key · Fix external API key"],
    ["auth-rejected", "auth", "Failed to authenticate. API Error: 401 token revoked"],
    ["limit", "limit", "API Error: Request rejected (429) · Number of request tokens has exceeded your rate limit"],
    ["overloaded", "limit", "API Error: 529 Overloaded."],
    ["network", "network", "API Error: Connection dropped (ECONNRESET)."],
    ["server-error", "agent_error", "API Error: 500 Internal server error."],
  ])("%s: classified %p, zero usage and cost reported", (name, kind, message) => {
    const { shown, report } = feed(new ClaudeParser(), `claude-2.1.332-${name}.jsonl`);
    expect(report).toMatchObject({ isError: true, kind, costUsd: 0, resetAt: null });
    expect(report.message).toStartWith(message);
    expect(report.usage).toEqual({ input_tokens: 0, output_tokens: 0, cache_read_tokens: 0, cache_write_tokens: 0, cost_usd: 0, turns: 1, model: "claude-opus-5-5" });
    expect(shown.split(message).length - 1).toBe(1);
  });
  test("killed before its result: no usage", () => {
    const p = new ClaudeParser();
    p.line(readFileSync(join(FIXTURES, "claude-2.1.332-success.jsonl"), "utf8").split("\n")[0]!);
    expect(p.report().usage).toBeNull();
  });
});

describe("codex 0.171.0", () => {
  test.each([
    ["exec", "→ /bin/bash -lc", 450, 50, 40],
    ["patch", "→ edited [", 350, 50, 30],
  ])("%s: success, tokens without a cost or a model (Codex reports neither)", (name, tool, input, cached, output) => {
    const { shown, report } = feed(new CodexParser(), `codex-0.171.0-${name}.jsonl`);
    expect(report).toMatchObject({ isError: false, kind: null, message: "Wrote the status.", costUsd: null });
    // Codex counts cached tokens inside input_tokens (500 = 450 + 50 here): kept apart.
    expect(report.usage).toEqual({ input_tokens: input, output_tokens: output, cache_read_tokens: cached, cache_write_tokens: 0, cost_usd: null, turns: 1, model: null });
    expect(shown).toContain(tool);
  });
  test.each([
    ["auth", "auth"],
    ["limit", "limit"],
    ["overloaded", "limit"],
    ["network", "network"],
    ["server-error", "agent_error"],
  ])("%s: turn.failed classified %p, shown once, no usage", (name, kind) => {
    const { shown, report } = feed(new CodexParser(), `codex-0.171.0-${name}.jsonl`);
    expect(report).toMatchObject({ isError: true, kind, usage: null });
    expect(shown.split(report.message!).length - 1).toBe(1);
  });
  test("two turns: usage summed", () => {
    const p = new CodexParser();
    const done = readFileSync(join(FIXTURES, "codex-0.171.0-exec.jsonl"), "utf8").trim().split("\n").at(-1)!;
    p.line(done);
    p.line(done);
    expect(p.report().usage).toMatchObject({ input_tokens: 900, cache_read_tokens: 100, output_tokens: 80, turns: 2 });
  });
  test("a status code is matched as a number, not inside a port", () => {
    expect(classifyCodex("unexpected status 500 Internal Server Error: boom, url: http://127.0.0.1:34012/v1/responses")).toBe("agent_error");
    expect(classifyCodex("unexpected status 500: boom, url: http://127.0.0.1:54291/v1/responses")).toBe("agent_error");
  });
});
