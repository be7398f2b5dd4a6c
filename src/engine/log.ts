import { appendFileSync } from "node:fs";
import { safe } from "../lib/output.ts";

/** The engine's voice: a line on stderr (the pane) and in engine.log, and agent output with caps. */
export class EngineLog {
  private logBytes = 0;
  private termBytes = 0;
  private capNoted = { log: false, term: false };
  constructor(
    private path: string,
    private term: NodeJS.WriteStream | null,
    private limits = { logPerIteration: 1 << 20, termPerIteration: 256 << 10 },
  ) {}

  line(text: string): void {
    const stamped = `[${new Date().toTimeString().slice(0, 8)}] ${text}\n`;
    try {
      appendFileSync(this.path, stamped);
    } catch {}
    process.stderr.write(safe(stamped, false));
  }

  /** A new iteration resets the caps, so one flooding agent cannot drown the pane or the log. */
  resetCaps(): void {
    this.logBytes = 0;
    this.termBytes = 0;
    this.capNoted = { log: false, term: false };
  }

  get saturated(): boolean {
    return this.logBytes >= this.limits.logPerIteration && (!this.term || this.termBytes >= this.limits.termPerIteration) && this.capNoted.log && (!this.term || this.capNoted.term);
  }

  agent(text: string): void {
    if (this.logBytes < this.limits.logPerIteration) {
      this.logBytes += text.length;
      try {
        appendFileSync(this.path, text);
      } catch {}
    } else if (!this.capNoted.log) {
      this.capNoted.log = true;
      try {
        appendFileSync(this.path, "\n[sessions] agent output beyond 1 MiB is kept only in the iteration's output.md\n");
      } catch {}
    }
    if (!this.term) return;
    if (this.termBytes < this.limits.termPerIteration) {
      this.termBytes += text.length;
      // The pane is a terminal: agent text never reaches it with its control sequences (engine.log keeps them).
      this.term.write(safe(text, false));
    } else if (!this.capNoted.term) {
      this.capNoted.term = true;
      this.term.write("\n[sessions] output continues in the iteration's output.md (not shown here)\n");
    }
  }
}
