/**
 * The "chat turn" a host makes once an admin connected ChatGPT: one Responses-API call to the Codex
 * backend with the token session's `authHeaders()`. It shows the part hosts most often get wrong:
 * headers come from the session on every call (so a due refresh happens once, and the rotated token
 * is saved before use), and a 401 calls `invalidate()` so that the next call refreshes.
 */
import { OAuthDeviceFlowError, type TokenSession } from "../../oauthDeviceFlow.ts";

export const CHAT_MODEL = "gpt-5-codex";
export const CHAT_INSTRUCTIONS = "You are a friendly assistant.";

export type ChatOutcome =
  | { ok: true; text: string }
  /** `code`: the module's error code, or `backend_error` with the backend's HTTP status. */
  | { ok: false; code: string; status?: number };

interface ResponsesReply {
  output?: { type?: string; content?: { type?: string; text?: string }[] }[];
}

/** The assistant's text of a Responses-API reply ("" when there is none). */
function outputText(body: ResponsesReply | undefined): string {
  return (body?.output ?? [])
    .filter((item) => item.type === "message")
    .flatMap((item) => item.content ?? [])
    .filter((part) => part.type === "output_text")
    .map((part) => part.text ?? "")
    .join("");
}

/** One user message in, the assistant's text out. Never throws; errors carry no secret and no body. */
export async function chatTurn(session: TokenSession, backendUrl: string, message: string, timeoutMs: number): Promise<ChatOutcome> {
  let headers: Record<string, string>;
  try {
    headers = await session.authHeaders();
  } catch (e) {
    return { ok: false, code: e instanceof OAuthDeviceFlowError ? e.code : "invalid_config" };
  }
  let res: Response;
  try {
    res = await fetch(`${backendUrl}/backend-api/codex/responses`, {
      method: "POST",
      headers: { ...headers, "content-type": "application/json", accept: "application/json" },
      body: JSON.stringify({
        model: CHAT_MODEL,
        instructions: CHAT_INSTRUCTIONS,
        input: [{ type: "message", role: "user", content: [{ type: "input_text", text: message }] }],
        store: false,
      }),
      redirect: "manual",
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch {
    return { ok: false, code: "network_error" };
  }
  const body = (await res.json().catch(() => undefined)) as ResponsesReply | undefined;
  if (res.status === 401) {
    // The backend refused the token although its exp says valid (revoked, rotated elsewhere):
    // the next call refreshes first.
    session.invalidate(headers["Authorization"]?.replace(/^Bearer /, ""));
    return { ok: false, code: "backend_error", status: 401 };
  }
  if (!res.ok) return { ok: false, code: "backend_error", status: res.status };
  const text = outputText(body);
  return text ? { ok: true, text } : { ok: false, code: "backend_error", status: res.status };
}
