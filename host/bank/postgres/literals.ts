// Literal binding for the PostgreSQL store's transactions (tx.ts): statements sent as text in the
// simple query protocol, so several ride one message (README, "Round trips").

/**
 * `text` with $1, $2, ... replaced by SQL literals of `values`, for the simple query protocol (several
 * statements in one message). Only the types the store passes are accepted: safe integers, strings
 * (pg's escapeLiteral: quotes doubled, E'' when a backslash is present), bytes (bytea hex), null.
 */
export function bindLiterals(text: string, values: readonly unknown[]): string {
  return text.replace(/\$(\d+)/g, (_, n: string) => {
    const value = values[Number(n) - 1];
    if (value === null || value === undefined) return "NULL";
    if (typeof value === "number") {
      if (!Number.isSafeInteger(value)) throw new TypeError(`store: ${value} is not an integer the bank stores`);
      return String(value);
    }
    if (typeof value === "bigint") return value.toString();
    if (typeof value === "string") {
      if (value.includes("\0")) throw new TypeError("store: a text value contains a NUL character");
      return escapeLiteral(value);
    }
    if (value instanceof Uint8Array) return `'\\x${Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString("hex")}'::bytea`;
    throw new TypeError(`store: cannot bind a ${typeof value}`);
  });
}

/** pg's escapeLiteral, from the loaded module (pg itself is loaded lazily: connection.ts, loadPg). */
let escapeLiteral: (text: string) => string = () => {
  throw new Error("pg is not loaded");
};

/** Called by loadPg with the loaded module's escapeLiteral. */
export function useEscapeLiteral(fromPg: (text: string) => string): void {
  escapeLiteral = fromPg;
}
