import * as v from "valibot";
import { appendLine, readTail, readText } from "./fsx.ts";
import { HistoryEntrySchema, type HistoryEntry } from "./state.ts";

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
  // Checked as an object only (no copy): what each event type carries is validated where it is read.
  data: v.optional(v.custom<Record<string, unknown>>((d) => typeof d === "object" && d !== null && !Array.isArray(d), "expected an object"), {}),
});
export type SessionEvent = v.InferOutput<typeof EventSchema>;

/** An iteration_complete event's data is its history entry, validated with the event in one pass. */
const IterationEventSchema = v.looseObject({ ...EventSchema.entries, data: HistoryEntrySchema });

/** The history entry of an iteration_complete event (validated when the event was read), else null. */
export const historyEntryOf = (e: SessionEvent): HistoryEntry | null => (e.type === "iteration_complete" ? (e.data as HistoryEntry) : null);

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

/** Every event of a log; with `types`, only those (the others are not even validated). */
export function parseEvents(text: string, types?: ReadonlySet<string>): EventsRead {
  const events: SessionEvent[] = [];
  const bad: EventsRead["bad"] = [];
  const lines = text.split("\n");
  const last = text.endsWith("\n") ? lines.length - 1 : lines.length;
  for (let i = 0; i < last; i++) {
    const line = lines[i]!;
    if (!line.trim()) continue;
    const torn = i === last - 1 && !text.endsWith("\n");
    try {
      const data = JSON.parse(line);
      if (types && !types.has(data?.type)) continue;
      const r = v.safeParse(data?.type === "iteration_complete" ? IterationEventSchema : EventSchema, data);
      if (r.success) events.push(r.output);
      else bad.push({ line: i + 1, text: line.slice(0, 200), torn });
    } catch {
      bad.push({ line: i + 1, text: line.slice(0, 200), torn });
    }
  }
  return { events, bad };
}

export function readEvents(path: string, types?: ReadonlySet<string>): EventsRead {
  return parseEvents(readText(path) ?? "", types);
}

/** A session's history entries, in order: what `status` and `report` show. */
export const readHistory = (path: string): HistoryEntry[] =>
  readEvents(path, HISTORY_ONLY).events.flatMap((e) => historyEntryOf(e) ?? []);
const HISTORY_ONLY: ReadonlySet<string> = new Set(["iteration_complete"]);

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
