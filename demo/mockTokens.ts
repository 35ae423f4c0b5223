/**
 * The mock authorization server's credentials: random handles, user codes, PKCE challenges and
 * HS256-signed JWTs. Kept apart from the HTTP routing so that the token shapes (the claims OpenAI's
 * tokens carry, `exp`, the signature the mock Codex backend checks) are in one place.
 *
 * The JWTs are really signed (HMAC with a per-server random key) so that the mock backend can
 * reject a forged or altered token the way a real one would; clients never verify them.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from "node:crypto";

/** The claim namespace OpenAI puts ChatGPT account data under. */
export const OPENAI_AUTH_CLAIM = "https://api.openai.com/auth";

/** A random opaque value with a readable prefix (`rt_...`, `dc_...`): 32 base64url characters. */
export function randomHandle(prefix: string): string {
  return `${prefix}${randomBytes(24).toString("base64url")}`;
}

/** RFC 8628 section 6.1 alphabet: no vowels, no look-alike characters. */
const USER_CODE_ALPHABET = "BCDFGHJKLMNPQRSTVWXZ";

/** An 8-character user code shown as `XXXX-XXXX`. */
export function newUserCode(): string {
  const bytes = randomBytes(8);
  let code = "";
  for (const byte of bytes) code += USER_CODE_ALPHABET[byte % USER_CODE_ALPHABET.length];
  return `${code.slice(0, 4)}-${code.slice(4)}`;
}

/** What a person may type: any casing, with or without dashes and spaces. */
export function normalizeUserCode(input: string): string {
  return input.toUpperCase().replace(/[^A-Z0-9]/g, "");
}

/** PKCE S256 (RFC 7636): base64url(sha256(verifier)). */
export function pkceChallenge(verifier: string): string {
  return createHash("sha256").update(verifier, "ascii").digest("base64url");
}

/** Signs and checks the mock's JWTs with one random key per server. */
export class JwtSigner {
  private readonly key = randomBytes(32);

  sign(claims: Record<string, unknown>): string {
    const head = Buffer.from(JSON.stringify({ alg: "HS256", typ: "JWT", kid: "mock" })).toString("base64url");
    const body = Buffer.from(JSON.stringify(claims)).toString("base64url");
    return `${head}.${body}.${this.mac(`${head}.${body}`)}`;
  }

  /** The claims of a token this signer made, or `undefined` (malformed, foreign or altered). */
  verify(token: string): Record<string, unknown> | undefined {
    const parts = token.split(".");
    if (parts.length !== 3) return undefined;
    const [head = "", body = "", sig = ""] = parts;
    const expected = Buffer.from(this.mac(`${head}.${body}`));
    const given = Buffer.from(sig);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
    try {
      const claims: unknown = JSON.parse(Buffer.from(body, "base64url").toString("utf8"));
      return typeof claims === "object" && claims !== null && !Array.isArray(claims)
        ? (claims as Record<string, unknown>)
        : undefined;
    } catch {
      return undefined;
    }
  }

  private mac(input: string): string {
    return createHmac("sha256", this.key).update(input).digest("base64url");
  }
}
