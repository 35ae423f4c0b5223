/**
 * A TCP proxy on a free loopback port in front of a database server, for the "connection dropped
 * during save" fault (not a test file itself): armed with a marker, it forwards the next client
 * request that contains it, throws the server's reply away and cuts both sides. The write has then
 * landed in the database but its client never learns it: the hardest case for a retried save.
 */
import { createServer, connect, type Socket } from "node:net";

export interface FaultProxy {
  readonly port: number;
  /** Resolves once a request containing `marker` was forwarded and its reply dropped. */
  dropReplyTo(marker: string): Promise<void>;
  close(): Promise<void>;
}

export async function startFaultProxy(targetPort: number): Promise<FaultProxy> {
  const sockets = new Set<Socket>();
  let armed: { marker: string; dropped: () => void } | undefined;
  const server = createServer((client) => {
    const upstream = connect(targetPort, "127.0.0.1");
    sockets.add(client);
    sockets.add(upstream);
    let dropNextReply: (() => void) | undefined;
    const cut = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on("data", (chunk: Buffer) => {
      if (armed !== undefined && chunk.includes(armed.marker)) {
        dropNextReply = armed.dropped;
        armed = undefined;
      }
      upstream.write(chunk);
    });
    upstream.on("data", (chunk: Buffer) => {
      if (dropNextReply !== undefined) {
        const done = dropNextReply;
        dropNextReply = undefined;
        cut();
        done();
        return;
      }
      client.write(chunk);
    });
    for (const s of [client, upstream]) {
      s.on("error", cut);
      s.on("close", () => {
        sockets.delete(s);
        cut();
      });
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("no port");
  return {
    port: address.port,
    dropReplyTo: (marker) => new Promise<void>((resolve) => (armed = { marker, dropped: resolve })),
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
