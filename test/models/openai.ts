/**
 * A scripted OpenAI Responses API on 127.0.0.1 for the real Codex: each `POST /v1/responses` is
 * answered by the test's script (a tool call, text, or a fault) as an SSE stream.
 */
import { type Fault, type Usage, serveModel, type ModelServer } from "./common.ts";

export type CodexReply =
  /** A JSON-argument tool (exec_command); a string input is a freeform tool (apply_patch). */
  | { tool: string; input: Record<string, unknown> | string; usage?: Usage }
  | { text: string; usage?: Usage }
  | Fault;

export interface CodexRequest {
  body: any;
  /** The user's prompt (the last user message that is not Codex's own context). */
  prompt: string;
  afterTool: boolean;
  toolResult: string;
  /** How many tool calls the model already made in this conversation. */
  turn: number;
}

export function openaiServer(script: (r: CodexRequest) => CodexReply): Promise<ModelServer> {
  let n = 0;
  return serveModel("openai", MESSAGES, async (req, body, fault) => {
    const url = new URL(req.url);
    if (req.method !== "POST" || url.pathname !== "/v1/responses") return new Response("not found", { status: 404 });
    const input: any[] = Array.isArray(body.input) ? body.input : [];
    const last = input[input.length - 1];
    const afterTool = typeof last?.type === "string" && last.type.endsWith("_call_output");
    const texts = (m: any): string => (Array.isArray(m?.content) ? m.content.map((c: any) => c.text ?? "").join("\n") : String(m?.content ?? ""));
    const users = input.filter((m) => m.role === "user").map(texts);
    const reply = script({
      body,
      prompt: users[users.length - 1] ?? "",
      afterTool,
      toolResult: afterTool ? (typeof last.output === "string" ? last.output : JSON.stringify(last.output)) : "",
      turn: input.filter((i) => i.type === "function_call" || i.type === "custom_tool_call").length,
    });
    const id = ++n;
    const created = event("response.created", { response: { id: `resp_${id}`, object: "response", status: "in_progress", output: [] } });
    if ("fault" in reply) return fault(reply, openaiError, created);
    let item: Record<string, unknown>;
    if ("tool" in reply) {
      item =
        typeof reply.input === "string"
          ? { type: "custom_tool_call", id: `ctc_${id}`, status: "completed", call_id: `call_${id}`, name: reply.tool, input: reply.input }
          : { type: "function_call", id: `fc_${id}`, status: "completed", call_id: `call_${id}`, name: reply.tool, arguments: JSON.stringify(reply.input) };
    } else {
      item = { type: "message", id: `msg_${id}`, status: "completed", role: "assistant", content: [{ type: "output_text", text: reply.text, annotations: [] }] };
    }
    const u = reply.usage ?? {};
    const usage = {
      input_tokens: u.input ?? 100,
      input_tokens_details: { cached_tokens: u.cacheRead ?? 0 },
      output_tokens: u.output ?? 20,
      output_tokens_details: { reasoning_tokens: 0 },
      total_tokens: (u.input ?? 100) + (u.output ?? 20),
    };
    const chunks = [
      created,
      event("response.output_item.added", { output_index: 0, item: { ...item, status: "in_progress" } }),
      ...("text" in reply ? [event("response.output_text.delta", { item_id: item.id, output_index: 0, content_index: 0, delta: reply.text })] : []),
      event("response.output_item.done", { output_index: 0, item }),
      event("response.completed", { response: { id: `resp_${id}`, object: "response", status: "completed", output: [item], usage } }),
    ];
    return new Response(chunks.join(""), { headers: { "content-type": "text/event-stream" } });
  });
}

function event(type: string, data: Record<string, unknown>): string {
  return `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;
}

/** What the real API says for each status (529 is Anthropic's overload status, worded as OpenAI's 503). */
const MESSAGES: Record<number, string> = { 401: "Incorrect API key provided", 429: "Rate limit reached for requests", 500: "The server had an error while processing your request", 529: "The engine is currently overloaded, please try again later" };
const ERROR_CODES: Record<number, string> = { 401: "invalid_api_key", 429: "rate_limit_exceeded", 500: "server_error", 529: "server_overloaded" };

function openaiError(status: number, message: string): Response {
  return Response.json({ error: { message, type: status === 429 ? "requests" : "server_error", code: ERROR_CODES[status] ?? null, param: null } }, { status });
}
