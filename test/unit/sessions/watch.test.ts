/** The watch screen as a pure function of its rows. */
import { describe, expect, test } from "bun:test";
import { renderScreen, type WatchRow } from "../../../src/sessions/watch.ts";

const NOW = Date.parse("2026-01-01T12:00:00Z");
function row(o: Partial<WatchRow>): WatchRow {
  return { session: "s", target: "t", status: "running", stage: "plan", iteration: 2, max: 4, started_at: "2026-01-01T11:58:00Z", updated_at: "2026-01-01T11:59:00Z", alive: true, tmux: true, stalled: false, cost_usd: null, tokens: null, problem: null, note: "", archived: false, last: null, ...o };
}

describe("renderScreen", () => {
  test("a row per session: status and flags, iteration bar, cost or tokens, age, last decision; the selected one marked; keys at the bottom", () => {
    const lines = renderScreen({
      rows: [row({ session: "a", stalled: true, cost_usd: 1.5, last: { decision: "continue", summary: "did the api", reason: null } }), row({ session: "b", status: "failed", tokens: 12_345, note: "iteration 2 failed" })],
      selected: 1,
      width: 120,
      height: 12,
      root: "/r",
      message: "",
      now: NOW,
    }).map((l) => Bun.stripANSI(l));
    expect(lines.length).toBe(12);
    expect(lines[0]).toMatch(/^sessions watch — \/r\s+2 sessions · \d\d:00:00$/);
    expect(lines[3]).toMatch(/^  a\s+running stalled\s+plan\s+2\/4 \[####----\]\s+\$1\.50\s+2m00s\s+continue: did the api$/);
    expect(lines[4]).toMatch(/^> b\s+failed\s+plan\s+2\/4 \[####----\]\s+12\.3k tok\s+2m00s\s+iteration 2 failed\s*$/);
    expect(lines[11]).toContain("k kill · q quit");
  });

  test("fits the width, scrolls to the selected row, and lets no control character through", () => {
    const rows = Array.from({ length: 30 }, (_, i) => row({ session: `s${i}`, last: { decision: "continue", summary: `x\x1b[31m\x07${"y".repeat(300)}`, reason: null } }));
    const lines = renderScreen({ rows, selected: 25, width: 60, height: 10, root: "/r", message: "", now: NOW });
    expect(lines.length).toBe(10);
    for (const l of lines) expect(Bun.stringWidth(Bun.stripANSI(l))).toBeLessThanOrEqual(60);
    const text = lines.join("\n");
    expect(text).toContain("> s25");
    expect(text).not.toContain("s0 ");
    expect(Bun.stripANSI(text)).not.toMatch(/[\x07\x1b]/);
  });
});
