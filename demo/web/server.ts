/**
 * The reference host: how a Node backend wires the module into its admin API and a chat route.
 *
 *   GET  /                                           the admin page (public/, no build step)
 *   POST /api/v1/admin/providers/oauth/start         -> { flowId, userCode, verificationUri,
 *                                                       verificationUriComplete?, intervalMs,
 *                                                       expiresAt, expiresInMs }
 *   POST /api/v1/admin/providers/oauth/poll {flowId} -> { status: pending|connected|error, code?,
 *                                                       retryable?, serverCode?, intervalMs }
 *   POST /api/v1/admin/providers/oauth/cancel {flowId}
 *   GET  /api/v1/admin/providers/oauth/status        -> { connected, accountId?, planType?, email? }
 *   POST /api/v1/chat/turn {message}                 -> 200 application/x-ndjson: {"delta"} lines, then
 *                                                       {"done":true,"text"} or {"error","status?","resetsAt?"};
 *                                                       or, when it fails before the first piece,
 *                                                       JSON { error, status?, resetsAt? }
 *
 * The device code stays in the flow record (flows.ts); the browser only ever holds the flow id.
 * Tokens go into a token session's store and never leave the server. Because an admin API changes
 * what the whole host can do, it listens on loopback only and refuses what a foreign page could send:
 * a Host other than the loopback name and port (DNS rebinding), an Origin other than its own (and a
 * POST without one, or a cross-site Sec-Fetch-Site), and POST bodies that are not JSON (a plain HTML
 * form cannot send JSON without a CORS preflight). Every API route also wants the admin token the
 * host prints at start-up (admission.ts), so no other local process or page can start flows, read
 * the connected account or chat with it; `start` is rate-limited and open flows are bounded.
 */
import { readFile } from "node:fs/promises";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import {
  OAuthDeviceFlowError,
  createMemoryStore,
  createTokenSession,
  decodeTokenClaims,
  type Clock,
  type FetchLike,
  type OAuthProvider,
  type OAuthTokens,
  type TokenSession,
  type TokenStore,
} from "../../js/oauthDeviceFlow.ts";
import { ADMIN_TOKEN_HEADER, Admission, MAX_OPEN_FLOWS, newAdminToken, tokenMatches, type Refusal } from "./admission.ts";
import { chatStream, type ChatChunk } from "./chat.ts";
import { readBodyWithin } from "../requestBody.ts";
import { DeviceFlows, MAX_FLOWS, errorAnswer } from "./flows.ts";

export const API = "/api/v1/admin/providers/oauth";
export const CHAT_ROUTE = "/api/v1/chat/turn";
const MAX_BODY = 16 * 1024;
const MAX_MESSAGE = 2000;

/** The page's files: a fixed list, so no request path ever reaches the file system. */
const STATIC: Record<string, { file: string; type: string }> = {
  "/": { file: "index.html", type: "text/html; charset=utf-8" },
  "/admin.css": { file: "admin.css", type: "text/css; charset=utf-8" },
  "/admin.js": { file: "admin.js", type: "text/javascript; charset=utf-8" },
  "/i18n.js": { file: "i18n.js", type: "text/javascript; charset=utf-8" },
  "/uiStates.js": { file: "uiStates.js", type: "text/javascript; charset=utf-8" },
};
const PUBLIC_DIR = fileURLToPath(new URL("./public/", import.meta.url));

const PAGE_HEADERS = {
  "cache-control": "no-store",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "x-frame-options": "DENY",
  "content-security-policy": "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
};

export interface WebHostOptions {
  /** The provider admins connect (openai-codex); its endpoints may be the embedded mock. */
  provider: OAuthProvider;
  /** Where `POST /backend-api/codex/responses` lives; without it the chat route answers 503. */
  backendUrl?: string;
  /** 0 (default) picks a free port. */
  port?: number;
  /** Default `Date.now`. */
  clock?: Clock;
  /** Default: the real fetch. */
  fetch?: FetchLike;
  /** Default: `createMemoryStore()` (nobody connected). */
  store?: TokenStore;
  /** Per request to the authorization server and the backend; default 15 000. */
  timeoutMs?: number;
  /** The secret every API request must carry (header `x-admin-token`); default: a random one. */
  adminToken?: string;
}

export interface WebHost {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  readonly port: number;
  readonly store: TokenStore;
  readonly flows: DeviceFlows;
  /** The admin token (print it only where the admin reads it). */
  readonly adminToken: string;
  /** The page with the admin token in its fragment (never sent to the server by a browser). */
  readonly adminUrl: string;
  stop(): Promise<void>;
}

interface Reply {
  status: number;
  body: string;
  headers: Record<string, string>;
  /** Written line by line after the head instead of `body` (the chat's stream). */
  lines?: AsyncIterable<string>;
}

const json = (status: number, value: unknown): Reply => ({
  status,
  body: JSON.stringify(value),
  headers: { "content-type": "application/json; charset=utf-8", "cache-control": "no-store", "x-content-type-options": "nosniff" },
});

class HttpError extends Error {
  constructor(readonly reply: Reply) {
    super("http error");
  }
}

function readJsonObject(raw: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(raw === "" ? "{}" : raw);
  } catch {
    throw new HttpError(json(400, { error: "bad_json" }));
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw new HttpError(json(400, { error: "bad_json" }));
  return value as Record<string, unknown>;
}

function flowIdOf(body: Record<string, unknown>): string {
  const id = body["flowId"];
  if (typeof id !== "string" || !/^[A-Za-z0-9_-]{1,64}$/.test(id)) throw new HttpError(json(400, { error: "bad_flow_id" }));
  return id;
}

export async function startWebHost(options: WebHostOptions): Promise<WebHost> {
  const clock = options.clock ?? Date.now;
  const fetchFn = options.fetch ?? (fetch as unknown as FetchLike);
  const timeoutMs = options.timeoutMs ?? 15_000;
  const store = options.store ?? createMemoryStore();
  const provider = options.provider;
  /** One session for the host; a sign-in goes through it (`signIn`), so it never hands out an old login's token. */
  let session: TokenSession | undefined;
  const newSession = () => createTokenSession({ provider, fetch: fetchFn, clock, store, timeoutMs });

  const flows = new DeviceFlows({
    provider,
    fetch: fetchFn,
    clock,
    timeoutMs,
    onConnected: async (tokens: OAuthTokens) => {
      // A sign-in replaces whatever the store holds (never a compare-and-swap save, which a
      // store drops when it holds something else); the session then uses the new tokens.
      session ??= newSession();
      await session.signIn(tokens);
    },
  });

  async function status(): Promise<Reply> {
    let tokens: OAuthTokens | null;
    try {
      tokens = await store.load();
    } catch {
      return json(503, { error: "storage_error" });
    }
    if (!tokens) return json(200, { connected: false });
    const claims = decodeTokenClaims(tokens);
    return json(200, {
      connected: true,
      ...(claims.accountId === undefined ? {} : { accountId: claims.accountId }),
      ...(claims.planType === undefined ? {} : { planType: claims.planType }),
      ...(claims.email === undefined ? {} : { email: claims.email }),
    });
  }

  async function chat(body: Record<string, unknown>): Promise<Reply> {
    const message = body["message"];
    if (typeof message !== "string" || message.trim() === "" || message.length > MAX_MESSAGE) {
      return json(400, { error: "bad_message" });
    }
    if (options.backendUrl === undefined) return json(503, { error: "no_backend" });
    // After a restart the store may hold tokens from before: a session over it picks them up.
    session ??= newSession();
    const chunks = chatStream(session, options.backendUrl, message, timeoutMs);
    // The first piece decides the reply: a failure before any text is a plain JSON error.
    const first = await chunks.next();
    const head: ChatChunk = first.done ? { error: "invalid_response" } : first.value;
    if ("error" in head) {
      if (head.error === "reauth_required" && (await store.load().catch(() => null)) === null) {
        return json(409, { error: "not_connected" });
      }
      return json(502, head);
    }
    async function* lines(): AsyncGenerator<string> {
      yield `${JSON.stringify(head)}\n`;
      for await (const chunk of chunks) yield `${JSON.stringify(chunk)}\n`;
    }
    return {
      status: 200,
      body: "",
      headers: { "content-type": "application/x-ndjson; charset=utf-8", "cache-control": "no-store", "x-content-type-options": "nosniff" },
      lines: lines(),
    };
  }

  if (MAX_OPEN_FLOWS >= MAX_FLOWS) throw new Error("MAX_OPEN_FLOWS must stay below the flow records' own cap");
  const admission = new Admission((flowId) => flows.cancel(flowId));
  const adminToken = options.adminToken ?? newAdminToken();

  const refused = (r: Refusal): Reply => {
    const reply = json(429, { status: "error", code: r.code, retryable: true, intervalMs: r.retryAfterMs });
    reply.headers["retry-after"] = String(Math.ceil(r.retryAfterMs / 1000));
    return reply;
  };

  async function api(path: string, raw: string): Promise<Reply> {
    switch (path) {
      case `${API}/start`: {
        const refusal = admission.admit(clock());
        if (refusal) return refused(refusal);
        try {
          const answer = await flows.start();
          admission.settle(answer);
          return json(200, answer);
        } catch (e) {
          admission.settle();
          return json(502, errorAnswer(e, 0));
        }
      }
      case `${API}/poll`: {
        const pending = flows.poll(flowIdOf(readJsonObject(raw)));
        if (!pending) return json(404, { status: "error", code: "unknown_flow", retryable: false, intervalMs: 0 });
        return json(200, await pending);
      }
      case `${API}/cancel`: {
        const flowId = flowIdOf(readJsonObject(raw));
        admission.closed(flowId);
        return json(200, { cancelled: flows.cancel(flowId) });
      }
      case CHAT_ROUTE:
        return chat(readJsonObject(raw));
      default:
        return json(404, { error: "not_found" });
    }
  }

  let origin = "";
  const allowedHosts = new Set<string>();

  async function route(req: IncomingMessage, raw: string, path: string): Promise<Reply> {
    if (!allowedHosts.has(req.headers.host ?? "")) return json(421, { error: "wrong_host" });
    const sentOrigin = req.headers.origin;
    if (sentOrigin !== undefined && sentOrigin !== origin && sentOrigin !== origin.replace("127.0.0.1", "localhost")) {
      return json(403, { error: "foreign_origin" });
    }
    if (path.startsWith("/api/")) {
      // A browser sends Origin on every POST and Sec-Fetch-Site on every request: a POST without
      // Origin is not the page's, and neither is a request another site made.
      const site = req.headers["sec-fetch-site"];
      if (site !== undefined && site !== "same-origin") return json(403, { error: "foreign_origin" });
      if (req.method === "POST" && sentOrigin === undefined) return json(403, { error: "origin_required" });
      const sent = req.headers[ADMIN_TOKEN_HEADER];
      if (!tokenMatches(adminToken, typeof sent === "string" ? sent : undefined)) {
        return json(401, { error: "admin_token_required" });
      }
    }
    if (req.method === "GET" || req.method === "HEAD") {
      if (path === `${API}/status`) return status();
      const file = STATIC[path];
      if (!file) return json(404, { error: "not_found" });
      const body = await readFile(`${PUBLIC_DIR}${file.file}`, "utf8");
      return { status: 200, body, headers: { "content-type": file.type, ...PAGE_HEADERS } };
    }
    if (req.method !== "POST") return json(405, { error: "method_not_allowed" });
    const type = (req.headers["content-type"] ?? "").split(";")[0]?.trim().toLowerCase();
    if (type !== "application/json") return json(415, { error: "send_json" });
    return api(path, raw);
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const raw = await readBodyWithin(req, res, MAX_BODY);
    if (raw === undefined) return;
    const path = new URL(req.url ?? "/", "http://host.invalid").pathname;
    let reply: Reply;
    try {
      reply = await route(req, raw, path);
    } catch (e) {
      if (!(e instanceof HttpError)) throw e;
      reply = e.reply;
    }
    if (res.destroyed) return;
    if (reply.lines) {
      res.writeHead(reply.status, reply.headers);
      for await (const line of reply.lines) {
        if (res.destroyed) break;
        res.write(line);
      }
      res.end();
      return;
    }
    res.writeHead(reply.status, reply.headers).end(req.method === "HEAD" ? undefined : reply.body);
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      // Name the kind only: an unexpected error's text might quote a token.
      const code = e instanceof OAuthDeviceFlowError ? e.code : "internal_error";
      if (!res.headersSent && !res.destroyed) res.writeHead(500, { "content-type": "application/json" }).end(JSON.stringify({ error: code }));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  origin = `http://127.0.0.1:${port}`;
  allowedHosts.add(`127.0.0.1:${port}`).add(`localhost:${port}`);

  return {
    url: origin,
    port,
    store,
    flows,
    adminToken,
    adminUrl: `${origin}/#admin-token=${adminToken}`,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
