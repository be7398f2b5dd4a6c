/**
 * The menu's and the confirmations' prompts, drawn on stderr (stdout carries data). consola's
 * prompts (clack) silence readline with a tty.WriteStream whose _write is overridden; Bun's
 * ignores the override, so every key is echoed to the terminal and each redraw lands one line
 * lower, leaving stale lines wherever the screen has room below (a fresh tmux pane). These read
 * raw keys themselves, echo nothing, and cut every line to the width so none wraps.
 */

export interface Choice {
  label: string;
  value: string;
  hint?: string;
}

const color = !process.env.NO_COLOR && process.env.TERM !== "dumb";
const paint = (code: string) => (s: string) => (color ? `\x1b[${code}m${s}\x1b[0m` : s);
const bold = paint("1");
const dim = paint("2");
const cyan = paint("36");
const term = process.stderr;

type Key = "up" | "down" | "enter" | "cancel" | "yes" | "no" | null;

/** Raw keys until `onKey` returns true; the terminal is put back however it ends. */
async function readKeys(onKey: (key: Key) => boolean): Promise<void> {
  const stdin = process.stdin;
  stdin.setRawMode(true);
  stdin.resume();
  try {
    await new Promise<void>((done) => {
      const onData = (buf: Buffer) => {
        for (const key of keys(buf.toString())) {
          if (onKey(key)) {
            stdin.off("data", onData);
            return done();
          }
        }
      };
      stdin.on("data", onData);
    });
  } finally {
    stdin.setRawMode(false);
    stdin.pause();
  }
}

/** One chunk of input as keys: several may arrive at once (a held arrow key). */
export function keys(text: string): Key[] {
  const out: Key[] = [];
  for (let i = 0; i < text.length; ) {
    const rest = text.slice(i);
    const seq = /^\x1b(\[|O)[0-9;]*[A-Za-z~]/.exec(rest)?.[0];
    if (seq) {
      out.push(seq.endsWith("A") ? "up" : seq.endsWith("B") ? "down" : null);
      i += seq.length;
      continue;
    }
    const ch = rest[0]!;
    i++;
    if (ch === "\r" || ch === "\n") out.push("enter");
    else if (ch === "\x03" || ch === "\x1b" || ch === "q" || ch === "\x04") out.push("cancel");
    else if (ch === "k") out.push("up");
    else if (ch === "j") out.push("down");
    else if (ch === "y" || ch === "Y") out.push("yes");
    else if (ch === "n" || ch === "N") out.push("no");
    else out.push(null);
  }
  return out;
}

/** Cut to `width` columns (…), so that a line never wraps and the redraw counts lines right. */
export function fit(text: string, width: number): string {
  const chars = [...text];
  return chars.length <= width ? text : `${chars.slice(0, Math.max(1, width - 1)).join("")}…`;
}

/** The lines of a select frame: the question, then the options around the cursor that fit the screen. */
export function selectFrame(message: string, options: Choice[], cursor: number, width: number, height: number): string[] {
  const room = Math.max(1, Math.min(options.length, height - 2));
  const first = Math.max(0, Math.min(cursor - Math.floor(room / 2), options.length - room));
  const lines = [bold(fit(`? ${message}`, width - 1))];
  for (let i = first; i < first + room; i++) {
    const o = options[i]!;
    const mark = i === cursor ? "❯ " : "  ";
    const text = fit(`${mark}${o.label}${o.hint ? `  ${o.hint}` : ""}`, width - 1);
    // Colour after cutting, so escapes never count as width.
    const label = text.slice(0, mark.length + o.label.length);
    const line = i === cursor ? cyan(label) + dim(text.slice(label.length)) : label + dim(text.slice(label.length));
    lines.push(line);
  }
  return lines;
}

/** Pick one with the arrow keys (or j/k) and Enter; Ctrl-C, Esc or q is null. */
export async function select(message: string, options: Choice[]): Promise<string | null> {
  if (!options.length) return null;
  let cursor = 0;
  let drawn = 0;
  const draw = (lines: string[]) => {
    term.write(`${drawn ? `\x1b[${drawn}A` : ""}\r\x1b[J${lines.join("\n")}\n`);
    drawn = lines.length;
  };
  const frame = () => selectFrame(message, options, cursor, term.columns || 80, term.rows || 24);
  term.write("\x1b[?25l");
  draw(frame());
  let picked: string | null = null;
  try {
    await readKeys((key) => {
      if (key === "up") cursor = (cursor + options.length - 1) % options.length;
      else if (key === "down") cursor = (cursor + 1) % options.length;
      else if (key === "enter") picked = options[cursor]!.value;
      if (key === "enter" || key === "cancel") return true;
      draw(frame());
      return false;
    });
  } finally {
    const chosen = options.find((o) => o.value === picked);
    draw([fit(`${chosen ? "✔" : "✖"} ${message}${chosen ? ` ${chosen.label}` : ""}`, (term.columns || 80) - 1)]);
    term.write("\x1b[?25h");
  }
  return picked;
}

/** Yes or no, no by default: y is yes; n, Enter, Ctrl-C and Esc are no. */
export async function confirm(question: string): Promise<boolean> {
  term.write(`${bold(question)} ${dim("(y/N)")} `);
  let yes = false;
  await readKeys((key) => {
    yes = key === "yes";
    return key !== null && key !== "up" && key !== "down";
  });
  term.write(`${yes ? "yes" : "no"}\n`);
  return yes;
}
