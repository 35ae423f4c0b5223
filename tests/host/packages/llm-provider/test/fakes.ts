/**
 * The host's test doubles: a `fetch` that answers scripted replies and records each request, a
 * clock the test moves by hand, a `sleep` that only advances that clock, and unsigned JWTs.
 */
import type { Clock, FetchLike } from "../src/oauthDeviceFlow.ts";

export interface Reply {
  status: number;
  body: string;
  contentType?: string;
}

export interface Sent {
  url: string;
  method: string;
  headers: Record<string, string>;
  body: string;
}

export const json = (status: number, value: unknown): Reply => ({ status, body: JSON.stringify(value) });

export class ScriptedFetch {
  readonly sent: Sent[] = [];
  private readonly replies: Reply[];

  constructor(...replies: Reply[]) {
    this.replies = replies;
  }

  get unused(): number {
    return this.replies.length;
  }

  readonly fetch: FetchLike = async (url, init) => {
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(init.headers)) headers[name.toLowerCase()] = value;
    this.sent.push({ url, method: init.method, headers, body: init.body });
    const reply = this.replies.shift();
    if (reply === undefined) throw new Error(`unexpected request to ${url}`);
    const replyHeaders = new Headers({ "content-type": reply.contentType ?? "application/json" });
    return { status: reply.status, headers: replyHeaders, text: async () => reply.body };
  };
}

export class FakeClock {
  constructor(public now: number) {}
  readonly clock: Clock = () => this.now;
  readonly sleep = async (ms: number): Promise<void> => {
    this.now += ms;
  };
}

const b64url = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString("base64url");

/** An unsigned JWT: the module decodes claims without verifying signatures. */
export function jwt(claims: Record<string, unknown>): string {
  return `${b64url({ alg: "none", typ: "JWT" })}.${b64url(claims)}.sig`;
}

export function codexIdToken(accountId: string): string {
  return jwt({ email: "ada@example.com", "https://api.openai.com/auth": { chatgpt_account_id: accountId, chatgpt_plan_type: "plus" } });
}

export function codexAccessToken(accountId: string, expSeconds: number): string {
  return jwt({ exp: expSeconds, "https://api.openai.com/auth": { chatgpt_account_id: accountId } });
}
