import * as v from "valibot";
import { readText, readTail } from "./fsx.ts";
import { appendLine } from "./fsx.ts";

export const CursorSchema = v.looseObject({
  node: v.number(),
  id: v.string(),
  iteration: v.number(),
  provider: v.nullish(v.string(), null),
  /** Which run of a plan that runs several times (absent: the first). */
  run: v.optional(v.number()),
});
export type Cursor = v.InferOutput<typeof CursorSchema>;

export const EventSchema = v.looseObject({
  ts: v.string(),
  type: v.string(),
  session: v.string(),
  cursor: v.nullish(CursorSchema, null),
  data: v.optional(v.looseObject({}), {}),
});
export type SessionEvent = v.InferOutput<typeof EventSchema>;

export function appendEvent(path: string, e: Omit<SessionEvent, "ts">): SessionEvent {
  const full: SessionEvent = { ts: new Date().toISOString(), ...e } as SessionEvent;
  appendLine(path, JSON.stringify(full));
  return full;
}

export interface EventsRead {
  events: SessionEvent[];
  /** Lines that are not events: a torn last line after a crash, or garbage. */
  bad: { line: number; text: string; torn: boolean }[];
}

export function parseEvents(text: string): EventsRead {
  const events: SessionEvent[] = [];
  const bad: EventsRead["bad"] = [];
  const lines = text.split("\n");
  const last = text.endsWith("\n") ? lines.length - 1 : lines.length;
  for (let i = 0; i < last; i++) {
    const line = lines[i]!;
    if (!line.trim()) continue;
    const torn = i === last - 1 && !text.endsWith("\n");
    try {
      const r = v.safeParse(EventSchema, JSON.parse(line));
      if (r.success) events.push(r.output);
      else bad.push({ line: i + 1, text: line.slice(0, 200), torn });
    } catch {
      bad.push({ line: i + 1, text: line.slice(0, 200), torn });
    }
  }
  return { events, bad };
}

export function readEvents(path: string): EventsRead {
  return parseEvents(readText(path) ?? "");
}

/** The last `n` events without reading a long log whole. */
export async function tailEvents(path: string, n: number): Promise<EventsRead> {
  let bytes = 16 * 1024;
  for (;;) {
    const f = Bun.file(path);
    if (!(await f.exists())) return { events: [], bad: [] };
    const text = await readTail(path, bytes);
    const r = parseEvents(text);
    if (r.events.length >= n || bytes >= f.size) {
      r.events = r.events.slice(-n);
      return r;
    }
    bytes *= 4;
  }
}
