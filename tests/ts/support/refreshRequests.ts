/**
 * Reading token-endpoint requests back from a log or a fetch: the multi-process tests (file store,
 * Redis and PostgreSQL replicas) count refreshes per refresh token to prove each was spent once.
 */

/** The refresh token a token-endpoint body spends (OpenAI sends JSON, RFC 6749 a form), else undefined. */
export function refreshBody(body: string): string | undefined {
  let fields: Record<string, unknown>;
  try {
    fields = JSON.parse(body) as Record<string, unknown>;
  } catch {
    fields = Object.fromEntries(new URLSearchParams(body));
  }
  if (typeof fields !== "object" || fields === null || fields["grant_type"] !== "refresh_token") return undefined;
  return typeof fields["refresh_token"] === "string" ? fields["refresh_token"] : "";
}
