import { log } from "../lib/output.ts";

/** A person can answer: both ends are a terminal, and stdout is not reserved for one JSON document. */
export const canAsk = (asJson: boolean | undefined) => !asJson && !!process.stdin.isTTY && !!process.stdout.isTTY;

/** Ask yes/no on the terminal; Ctrl-C counts as no. */
export async function confirm(question: string): Promise<boolean> {
  const answer = await log.prompt(question, { type: "confirm", initial: false, cancel: "symbol" });
  return answer === true;
}
