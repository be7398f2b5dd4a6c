/** What both fake model servers share: a loopback Bun.serve, a log of requests, faults, a bounded stop. */

/** Token usage a scripted reply reports. */
export interface Usage {
  input?: number;
  output?: number;
  cacheRead?: number;
  cacheWrite?: number;
}

export type Fault =
  /** An HTTP error with the API's own error body and any headers (retry-after, rate-limit ones). */
  | { fault: "status"; status: number; message?: string; headers?: Record<string, string> }
  /** The stream starts, then the connection is cut before the reply ends. */
  | { fault: "drop" }
  /** Never answers: the request stays open until the server stops. */
  | { fault: "hang" };

export interface ModelServer {
  url: string;
  /** Every request body the CLI sent to the model endpoint, in order. */
  requests: any[];
  /** Requests currently held open by a hang fault. */
  hanging: () => number;
  stop(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

type FaultResponder = (f: Fault, error: (status: number, message: string) => Response, firstEvent?: string) => Response | Promise<Response>;

export async function serveModel(what: string, messages: Record<number, string>, handle: (req: Request, body: any, fault: FaultResponder) => Response | Promise<Response>): Promise<ModelServer> {
  const requests: any[] = [];
  const held = new Set<() => void>();
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    // A hung request must stay open until the test ends it, not until Bun's idle timeout.
    idleTimeout: 0,
    async fetch(req, srv) {
      const body = req.method === "POST" ? await req.json().catch(() => ({})) : {};
      if (req.method === "POST") requests.push(body);
      const fault: FaultResponder = (f, error, firstEvent = "") => {
        if (f.fault === "status") {
          const r = error(f.status, f.message ?? messages[f.status] ?? `fake ${what} error ${f.status}`);
          for (const [k, v] of Object.entries(f.headers ?? {})) r.headers.set(k, v);
          return r;
        }
        if (f.fault === "hang") return new Promise<Response>((resolve) => held.add(() => resolve(new Response("stopped", { status: 503 }))));
        // The first event, then silence: this connection's own idle timeout cuts it mid-stream (a reset, as a dropped link).
        srv.timeout(req, 1);
        const stream = new ReadableStream({
          start(c) {
            c.enqueue(new TextEncoder().encode(firstEvent));
          },
        });
        return new Response(stream, { headers: { "content-type": "text/event-stream" } });
      };
      return handle(req, body, fault);
    },
  });
  const stop = async () => {
    for (const release of held) release();
    held.clear();
    await server.stop(true);
  };
  return { url: `http://127.0.0.1:${server.port}`, requests, hanging: () => held.size, stop, [Symbol.asyncDispose]: stop };
}
