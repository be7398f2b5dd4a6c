import { describe, expect, test } from "bun:test";
import { claude, ClaudeParser, classifyClaude } from "../../../src/engine/providers/claude.ts";
import { codex, CodexParser, classifyCodex } from "../../../src/engine/providers/codex.ts";
import { command } from "../../../src/engine/providers/command.ts";
import { limitIn } from "../../../src/engine/providers/index.ts";
import { parseResetTime } from "../../../src/engine/providers/limits.ts";
import { limitWaitUntil } from "../../../src/engine/iteration.ts";

const vars = { CTX: "/c.json", STATUS: "/s.json", PROGRESS: "/p.md", OUTPUT: "/o.md", ITERATION: "2", INDEX: "1", SESSION_NAME: "x", CONTEXT: "", INPUTS: "" };

describe("command lines (accepted by claude 2.1.332 and codex-cli 0.171.0: test/e2e/real-agents.test.ts)", () => {
  test("claude: print mode, stream-json (needs --verbose), permissions skipped, model", () => {
    expect(claude.argv({ name: "claude", model: "opus", command: null, bin: "/usr/bin/claude" }, vars)).toEqual([
      "/usr/bin/claude", "-p", "--output-format", "stream-json", "--verbose", "--dangerously-skip-permissions", "--model", "opus",
    ]);
  });
  test("codex: exec reading stdin via '-', bypass, JSON events", () => {
    expect(codex.argv({ name: "codex", model: "gpt-5.5", command: null, bin: "/bin/codex" }, vars)).toEqual([
      "/bin/codex", "exec", "--dangerously-bypass-approvals-and-sandbox", "--skip-git-repo-check", "--json", "--color", "never", "-m", "gpt-5.5", "-",
    ]);
  });
  test("command: words without a shell, variables filled in, the resolved binary first", () => {
    const argv = command.argv({ name: "command", model: null, command: ["agent", "--status", "${STATUS}", "$(id)", "it ${ITERATION}"], bin: "/opt/agent" }, vars);
    expect(argv).toEqual(["/opt/agent", "--status", "/s.json", "$(id)", "it 2"]);
  });
});

describe("claude output", () => {
  test("not logged in (real output) is an auth error with its message", () => {
    const p = new ClaudeParser();
    p.line('{"type":"system","subtype":"init","model":"claude-haiku-4-5","session_id":"s1"}');
    p.line('{"type":"assistant","message":{"content":[{"type":"text","text":"Not logged in · Please run /login"}]},"error":"authentication_failed"}');
    p.line('{"type":"result","subtype":"success","is_error":true,"api_error_status":null,"result":"Not logged in · Please run /login","total_cost_usd":0}');
    expect(p.report()).toEqual({ isError: true, message: "Not logged in · Please run /login", kind: "auth", costUsd: 0, resetAt: null, usage: null });
  });
  test("a session limit takes its reset time from the rate_limit_event", () => {
    const p = new ClaudeParser();
    p.line('{"type":"rate_limit_event","rate_limit_info":{"status":"rejected","resetsAt":1795628597,"rateLimitType":"five_hour"}}');
    p.line('{"type":"result","subtype":"success","is_error":true,"api_error_status":429,"result":"You\'ve hit your session limit · resets 5:43pm (UTC)"}');
    const r = p.report();
    expect(r.kind).toBe("limit");
    expect(r.resetAt).toBe(new Date(1795628597 * 1000).toISOString());
  });
  test("success: text is shown, cost kept", () => {
    const p = new ClaudeParser();
    expect(p.line('{"type":"assistant","message":{"content":[{"type":"text","text":"Working"},{"type":"tool_use","name":"Bash","input":{"command":"ls -la"}}]}}')).toBe("Working\n→ Bash: ls -la\n");
    p.line('{"type":"result","subtype":"success","is_error":false,"result":"Hello there","total_cost_usd":0.000025}');
    expect(p.report()).toMatchObject({ isError: false, costUsd: 0.000025 });
  });
  test.each([
    ["Invalid API key · Fix external API key", "auth"],
    ["Credit balance too low · Add funds", "auth"],
    ["You've hit your weekly limit · resets Nov 27, 7:30pm (UTC)", "limit"],
    ["API Error: Request rejected (429) · slow down", "limit"],
    ["API Error: Unable to connect to API (ConnectionRefused)", "network"],
    ["something else broke", "agent_error"],
  ])("classifies %p as %p", (msg, kind) => expect(classifyClaude(msg)).toBe(kind as never));
});

describe("codex output", () => {
  test("reconnect errors are not final; turn.failed is", () => {
    const p = new CodexParser();
    p.line('{"type":"thread.started","thread_id":"t"}');
    p.line('{"type":"error","message":"Reconnecting... 2/5 (stream disconnected before completion)"}');
    p.line('{"type":"item.completed","item":{"id":"item_1","type":"agent_message","text":"Hello there"}}');
    p.line('{"type":"turn.completed","usage":{"input_tokens":10,"output_tokens":3}}');
    expect(p.report().isError).toBe(false);
    const q = new CodexParser();
    q.line('{"type":"error","message":"You’ve hit your usage limit. Visit https://chatgpt.com/settings/usage to purchase more credits or try again at 5:42 PM."}');
    q.line('{"type":"turn.failed","error":{"message":"You’ve hit your usage limit. Visit https://chatgpt.com/settings/usage to purchase more credits or try again at 5:42 PM."}}');
    const r = q.report();
    expect(r).toMatchObject({ isError: true, kind: "limit" });
    expect(r.resetAt).not.toBeNull();
  });
  test.each([
    ["unexpected status 401 Unauthorized: bad token, url: x", "auth"],
    ["exceeded retry limit, last status: 429 Too Many Requests", "limit"],
    ["Reconnecting... waiting for network (Connection failed: error sending request)", "network"],
  ])("classifies %p as %p", (msg, kind) => expect(classifyCodex(msg)).toBe(kind as never));
});

describe("limits", () => {
  const now = new Date("2026-11-25T12:00:00Z");
  test("reset times as the agents print them", () => {
    expect(parseResetTime("You've hit your session limit · resets 5:43pm (UTC)", now)).toBe("2026-11-25T17:43:00.000Z");
    expect(parseResetTime("resets 9:00am (UTC)", now)).toBe("2026-11-26T09:00:00.000Z");
    expect(parseResetTime("You've hit your weekly limit · resets Nov 27, 7:30pm (UTC)", now)).toBe("2026-11-27T19:30:00.000Z");
    expect(parseResetTime("nothing here", now)).toBeNull();
  });
  test("the wait: a minute past the reset, else backoff capped at 30 minutes", () => {
    const t = now.getTime();
    expect(limitWaitUntil("2026-11-25T12:10:00Z", 0, t)).toBe(t + 11 * 60_000);
    expect(limitWaitUntil(null, 0, t)).toBe(t + 60_000);
    expect(limitWaitUntil(null, 3, t)).toBe(t + 8 * 60_000);
    expect(limitWaitUntil(null, 10, t)).toBe(t + 30 * 60_000);
    expect(limitWaitUntil("2020-01-01T00:00:00Z", 0, t)).toBe(t);
  });
  test("limit messages in stderr", () => {
    expect(limitIn("boom\nError: 429 Too Many Requests\n")).toContain("429");
    expect(limitIn("segfault")).toBeNull();
  });
});
