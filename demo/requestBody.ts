/**
 * The request body for the demo's two servers (the mock and the admin page), read up to a cap:
 * past it both answer 413 and close the connection, so no client can make them buffer more.
 */
import type { IncomingMessage, ServerResponse } from "node:http";

/**
 * The body as UTF-8 text; `undefined` once it passed `max` bytes, after answering
 * `413 {"error":"too_large"}` on `res`.
 */
export async function readBodyWithin(req: IncomingMessage, res: ServerResponse, max: number): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > max) {
      res.writeHead(413, { "content-type": "application/json", connection: "close" }).end('{"error":"too_large"}');
      return undefined;
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString("utf8");
}
