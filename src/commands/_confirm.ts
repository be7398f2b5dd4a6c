/** A person can answer: both ends are a terminal, and stdout is not reserved for one JSON document. */
export const canAsk = (asJson: boolean | undefined) => !asJson && !!process.stdin.isTTY && !!process.stdout.isTTY;

/** Ask yes/no on the terminal; Ctrl-C counts as no. */
export { confirm } from "../lib/prompt.ts";
