/**
 * A scripted Anthropic Messages API on 127.0.0.1 for the real Claude Code: each request is answered by
 * the test's script (a tool call, text, or a fault), streaming (SSE) or not, as the request asks.
 */
import { type Fault, type Usage, serveModel, type ModelServer } from "./common.ts";

export type ClaudeReply =
  | { tool: string; input: Record<string, unknown>; text?: string; usage?: Usage }
  | { text: string; usage?: Usage }
  | Fault;

export interface ClaudeRequest {
  body: any;
  /** The first user message's text: the prompt sessions piped in. */
  prompt: string;
  /** The last user message is the result of a tool call: this is a follow-up turn. */
  afterTool: boolean;
  /** The text of the tool results in the last user message. */
  toolResult: string;
  /** How many replies the model already gave in this conversation (0 for its first request). */
  turn: number;
}

export function anthropicServer(script: (r: ClaudeRequest) => ClaudeReply): Promise<ModelServer> {
  let n = 0;
  return serveModel("anthropic", MESSAGES, async (req, body, fault) => {
    const url = new URL(req.url);
    if (req.method !== "POST" || url.pathname !== "/v1/messages") return new Response("not found", { status: 404 });
    const msgs: any[] = body.messages ?? [];
    // Claude Code may append a system message after the user's turn: the last user message decides.
    const last = msgs.findLast((m) => m.role === "user");
    const blocks = (m: any): any[] => (typeof m?.content === "string" ? [{ type: "text", text: m.content }] : (m?.content ?? []));
    const results = blocks(last).filter((b) => b.type === "tool_result");
    const first = msgs.find((m) => m.role === "user");
    const reply = script({
      body,
      prompt: blocks(first)
        .filter((b) => b.type === "text")
        .map((b) => b.text)
        .join("\n"),
      afterTool: results.length > 0,
      toolResult: results.map((r) => (typeof r.content === "string" ? r.content : blocks(r).map((b) => b.text ?? "").join(""))).join("\n"),
      turn: msgs.filter((m) => m.role === "assistant").length,
    });
    if ("fault" in reply) return fault(reply, anthropicError);
    const id = ++n;
    const model = String(body.model ?? "claude-sonnet-4-5");
    const usage = { input_tokens: reply.usage?.input ?? 100, output_tokens: reply.usage?.output ?? 20, cache_read_input_tokens: reply.usage?.cacheRead ?? 0, cache_creation_input_tokens: reply.usage?.cacheWrite ?? 0 };
    const content: any[] = [];
    if (reply.text) content.push({ type: "text", text: reply.text });
    if ("tool" in reply) content.push({ type: "tool_use", id: `toolu_${id}`, name: reply.tool, input: reply.input });
    const stop = "tool" in reply ? "tool_use" : "end_turn";
    const message = { id: `msg_${id}`, type: "message", role: "assistant", model, content, stop_reason: stop, stop_sequence: null, usage };
    if (body.stream !== true) return Response.json(message);
    const events: [string, unknown][] = [["message_start", { type: "message_start", message: { ...message, content: [], stop_reason: null, usage: { ...usage, output_tokens: 1 } } }]];
    content.forEach((c, index) => {
      if (c.type === "text") {
        events.push(["content_block_start", { type: "content_block_start", index, content_block: { type: "text", text: "" } }]);
        events.push(["content_block_delta", { type: "content_block_delta", index, delta: { type: "text_delta", text: c.text } }]);
      } else {
        events.push(["content_block_start", { type: "content_block_start", index, content_block: { type: "tool_use", id: c.id, name: c.name, input: {} } }]);
        events.push(["content_block_delta", { type: "content_block_delta", index, delta: { type: "input_json_delta", partial_json: JSON.stringify(c.input) } }]);
      }
      events.push(["content_block_stop", { type: "content_block_stop", index }]);
    });
    events.push(["message_delta", { type: "message_delta", delta: { stop_reason: stop, stop_sequence: null }, usage: { output_tokens: usage.output_tokens } }]);
    events.push(["message_stop", { type: "message_stop" }]);
    return sse(events.map(([event, data]) => `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`));
  });
}

/** What the real API says for each status. */
const MESSAGES: Record<number, string> = { 401: "invalid x-api-key", 429: "Number of request tokens has exceeded your per-minute rate limit", 500: "Internal server error", 529: "Overloaded" };
const ERROR_TYPES: Record<number, string> = { 401: "authentication_error", 429: "rate_limit_error", 500: "api_error", 529: "overloaded_error" };

function anthropicError(status: number, message: string): Response {
  return Response.json({ type: "error", error: { type: ERROR_TYPES[status] ?? "api_error", message } }, { status });
}

function sse(chunks: string[]): Response {
  return new Response(chunks.join(""), { headers: { "content-type": "text/event-stream", "cache-control": "no-cache" } });
}
