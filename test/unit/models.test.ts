/** The fake model servers the real-agent e2e tests use (test/models): the wire format and the faults (a drop: test/e2e/real-agents). */
import { describe, expect, test } from "bun:test";
import { anthropicServer } from "../models/anthropic.ts";
import { until } from "../helpers.ts";
import { openaiServer } from "../models/openai.ts";

const post = (url: string, body: unknown) => fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
const events = (sse: string) =>
  sse
    .split("\n\n")
    .filter(Boolean)
    .map((e) => JSON.parse(/^data: (.*)$/m.exec(e)![1]!));

describe("anthropic", () => {
  const ask = { model: "claude-x", messages: [{ role: "user", content: [{ type: "text", text: "STATUS=/s.json" }] }] };
  test("a tool call streamed as SSE, then text after the tool result, with the usage scripted", async () => {
    await using srv = await anthropicServer((r) => (r.afterTool ? { text: `got ${r.toolResult}` } : { tool: "Write", input: { file_path: r.prompt }, usage: { input: 7, output: 3, cacheRead: 2, cacheWrite: 1 } }));
    const first = events(await (await post(`${srv.url}/v1/messages?beta=true`, { ...ask, stream: true })).text());
    expect(first.map((e) => e.type)).toEqual(["message_start", "content_block_start", "content_block_delta", "content_block_stop", "message_delta", "message_stop"]);
    expect(first[0].message.usage).toMatchObject({ input_tokens: 7, cache_read_input_tokens: 2, cache_creation_input_tokens: 1 });
    expect(first[1].content_block).toMatchObject({ type: "tool_use", name: "Write" });
    expect(JSON.parse(first[2].delta.partial_json)).toEqual({ file_path: "STATUS=/s.json" });
    expect(first[4]).toMatchObject({ delta: { stop_reason: "tool_use" }, usage: { output_tokens: 3 } });
    const followUp = { ...ask, messages: [...ask.messages, { role: "assistant", content: [] }, { role: "user", content: [{ type: "tool_result", tool_use_id: "t", content: "done" }] }, { role: "system", content: "reminder" }] };
    const reply = await (await post(`${srv.url}/v1/messages`, followUp)).json();
    expect(reply).toMatchObject({ type: "message", stop_reason: "end_turn", content: [{ type: "text", text: "got done" }] });
    expect(srv.requests.length).toBe(2);
  });
  test("faults: an HTTP error with the API's body and headers; a hang held until stop", async () => {
    await using srv = await anthropicServer((r) => (r.prompt === "hang" ? { fault: "hang" } : { fault: "status", status: 429, headers: { "retry-after": "3" } }));
    const r = await post(`${srv.url}/v1/messages`, ask);
    expect([r.status, r.headers.get("retry-after")]).toEqual([429, "3"]);
    expect(await r.json()).toMatchObject({ type: "error", error: { type: "rate_limit_error" } });
    const hung = post(`${srv.url}/v1/messages`, { messages: [{ role: "user", content: "hang" }] });
    await until(() => srv.hanging() === 1, 2000, "the request to be held");
    await srv.stop();
    await hung.catch(() => {});
  });
});

describe("openai", () => {
  test("function and freeform tool calls and text as Responses SSE, usage in response.completed", async () => {
    await using srv = await openaiServer((r) => (r.turn === 0 ? { tool: "exec_command", input: { cmd: "ls" } } : r.turn === 1 ? { tool: "apply_patch", input: "*** Begin Patch\n" } : { text: "done", usage: { input: 9, cacheRead: 4 } }));
    const input = [{ type: "message", role: "user", content: [{ type: "input_text", text: "go" }] }];
    const kinds = async (body: unknown) => events(await (await post(`${srv.url}/v1/responses`, body)).text());
    const a = await kinds({ input });
    expect(a.map((e) => e.type)).toEqual(["response.created", "response.output_item.added", "response.output_item.done", "response.completed"]);
    expect(a[2].item).toMatchObject({ type: "function_call", name: "exec_command", arguments: '{"cmd":"ls"}' });
    const b = await kinds({ input: [...input, { type: "function_call", call_id: "c" }, { type: "function_call_output", call_id: "c", output: "x" }] });
    expect(b[2].item).toMatchObject({ type: "custom_tool_call", name: "apply_patch", input: "*** Begin Patch\n" });
    const c = await kinds({ input: [...input, { type: "function_call" }, { type: "custom_tool_call" }, { type: "custom_tool_call_output", output: "ok" }] });
    expect(c.at(-1).response.usage).toMatchObject({ input_tokens: 9, input_tokens_details: { cached_tokens: 4 } });
    expect(c.find((e) => e.type === "response.output_item.done").item.content[0]).toMatchObject({ type: "output_text", text: "done" });
  });
});
