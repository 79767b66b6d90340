// A TCP relay in front of a test's PostgreSQL that loses a COMMIT on purpose (test/bank-postgres.test.ts,
// test/pg-group.test.ts): the lost-commit rule (host/bank/postgres/transactions.ts) under test.
import { createServer, type Server, Socket } from "node:net";

/**
 * A TCP relay in front of the server that, once armed, loses the COMMIT: "answer" forwards it and
 * drops the connection before the answer comes back (the commit happened, the client cannot know);
 * "request" drops the connection without forwarding it (nothing committed); a function: holds it
 * unforwarded while the function runs, then drops the connection.
 */
export async function commitLosingRelay(
  port: number,
  /** Where the relay puts its closer (the caller closes it after the stores connected through it). */
  opened: { close(): Promise<void> }[],
): Promise<{ port: number; arm(loses: "answer" | "request" | (() => Promise<void>)): void; server: Server }> {
  let armed: "answer" | "request" | (() => Promise<void>) | null = null;
  const server = createServer((client) => {
    const upstream = new Socket();
    let swallow = false;
    upstream.connect(port, "127.0.0.1");
    upstream.on("data", (chunk) => {
      if (!swallow) client.write(chunk);
    });
    client.on("data", (chunk) => {
      if (armed && chunk.includes("COMMIT")) {
        const loses = armed;
        armed = null;
        if (typeof loses === "function") {
          // Held, never forwarded, while `loses` runs (a crash of the server); then the connection drops.
          void loses().finally(() => {
            client.destroy();
            upstream.destroy();
          });
        } else if (loses === "answer") {
          swallow = true;
          upstream.write(chunk);
          setTimeout(() => {
            client.destroy();
            upstream.destroy();
          }, 300);
        } else {
          client.destroy();
          upstream.destroy();
        }
        return;
      }
      upstream.write(chunk);
    });
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on("error", end);
    upstream.on("error", end);
    client.on("close", end);
    upstream.on("close", end);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  opened.push({ close: () => new Promise<void>((resolve) => server.close(() => resolve())) });
  return { port: typeof address === "object" && address ? address.port : 0, arm: (loses) => (armed = loses), server };
}
