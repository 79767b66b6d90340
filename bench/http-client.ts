// The benches' HTTP client: node:http with keep-alive connections, one JSON POST at a time per caller.
import { Agent, request } from "node:http";

/**
 * The clients: node:http with keep-alive connections. Not fetch: Node 20's fetch (undici) managed
 * ~250 requests/s against a fastify route that does nothing, on the same machine where node:http
 * makes 1,600/s with one client and 7,400/s with 32; through fetch the bench measured its client.
 */
const agent = new Agent({ keepAlive: true, maxSockets: 256 });

export function post(port: number, path: string, apiKey: string, json: unknown): Promise<{ status: number; body: unknown }> {
  const body = JSON.stringify(json);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: "127.0.0.1",
        port,
        path,
        method: "POST",
        agent,
        headers: { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(body), Authorization: `Bearer ${apiKey}` },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString("utf8")) }));
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}
