// What the CLIs ask a person at the terminal: secrets without echo and yes/no answers, through the
// `read` package (what npm itself uses: readline with a muted output stream, so arrow keys edit the
// line instead of becoming password characters, and the terminal is never left in raw mode).
// Without a terminal, answers come from standard input, one per line.
import { readFileSync } from "node:fs";
import { read } from "read";
import { UsageError } from "../usage.js";

/** Where a command reads standard input from (a test gives its own). */
export interface Stdin {
  isTTY: boolean;
  /** All of standard input as text (not a terminal). */
  readAll(): string;
  /** One line typed at a terminal without echo, after `prompt` on stderr. */
  readSecret(prompt: string): Promise<string>;
}

/** A terminal that can also ask a question whose answer is shown as typed. */
export interface Terminal extends Stdin {
  /** One line typed at a terminal, after `prompt` on stderr. */
  ask(prompt: string): Promise<string>;
}

async function readLine(prompt: string, silent: boolean): Promise<string> {
  try {
    return await read({ prompt, silent, replace: silent ? "*" : undefined, output: process.stderr });
  } catch (error) {
    // read rejects with "canceled" on Ctrl-C and on end of input.
    throw new UsageError(`cancelled (${(error as Error).message})`);
  }
}

export const processStdin: Terminal = {
  get isTTY() {
    return process.stdin.isTTY === true;
  },
  readAll: () => readFileSync(0, "utf8"),
  readSecret: (prompt) => readLine(prompt, true),
  ask: (prompt) => readLine(prompt, false),
};

/** Yes for "y", "yes", "はい" (any case, full-width folded); anything else is no. */
export function isYes(answer: string): boolean {
  return /^(y|yes|はい)$/i.test(answer.normalize("NFKC").trim());
}

/**
 * Answers to `questions` in order: typed at the prompt on a terminal (secrets without echo), else
 * the first lines of standard input, one per question (`what` names them when lines are missing).
 * A question's `check` sees its answer before the next question is asked.
 */
export async function answers(
  stdin: Terminal,
  questions: { prompt: string; secret: boolean; check?: (answer: string, before: string[]) => void }[],
  what: string,
): Promise<string[]> {
  if (stdin.isTTY) {
    const out: string[] = [];
    for (const q of questions) {
      const answer = await (q.secret ? stdin.readSecret(q.prompt) : stdin.ask(q.prompt));
      // A question's check runs before the next question is asked (the mail pair before the passwords).
      q.check?.(answer, out);
      out.push(answer);
    }
    return out;
  }
  const lines = stdin.readAll().split(/\r?\n/);
  // The newline that ends the last line does not start another.
  if (lines[lines.length - 1] === "") lines.pop();
  const given = lines.slice(0, questions.length);
  for (const [i, q] of questions.entries()) if (i < given.length) q.check?.(given[i], given.slice(0, i));
  if (lines.length < questions.length) throw new UsageError(`standard input must hold ${what}, one per line`);
  return given;
}
