/**
 * What the database stores (Redis, PostgreSQL) share: the token set's stored form, its identity for
 * compare-and-swap, option checks, and the errors they raise.
 *
 * Why a module of its own: both stores must persist exactly the fields of `OAuthTokens` (nothing a
 * caller slipped in), read back only well-formed sets, and compare sets the way the store contract
 * says (same access token and refresh token). Their errors must never quote a token, a stored
 * value or a driver's message (a driver error can carry the command's arguments, which hold
 * tokens, or a connection string): only the operation and an error code are named.
 */
import { createHash, randomBytes } from "node:crypto";
import { invalidConfig } from "./errors.ts";
import type { OAuthTokens } from "./types.ts";

/** The stored document's schema version: the only one these stores write and read. */
export const STORED_TOKENS_SCHEMA = 1;

/** The tokens in a parsed value, or undefined when it does not have the shape of `OAuthTokens`. */
export function readTokens(v: unknown): OAuthTokens | undefined {
  if (typeof v !== "object" || v === null || Array.isArray(v)) return undefined;
  const o = v as Record<string, unknown>;
  if (typeof o["accessToken"] !== "string" || o["accessToken"] === "") return undefined;
  if (typeof o["tokenType"] !== "string") return undefined;
  const t: OAuthTokens = { accessToken: o["accessToken"], tokenType: o["tokenType"] };
  for (const name of ["refreshToken", "idToken", "scope"] as const) {
    const s = o[name];
    if (s === undefined) continue;
    if (typeof s !== "string") return undefined;
    t[name] = s;
  }
  const exp = o["expiresAt"];
  if (exp !== undefined) {
    if (typeof exp !== "number" || !Number.isFinite(exp)) return undefined;
    t.expiresAt = exp;
  }
  return t;
}

/** Only the known fields of `tokens`, checked; throws `invalid_config` for anything else. */
export function cleanTokens(tokens: unknown, store: string): OAuthTokens {
  const t = readTokens(tokens);
  if (t === undefined) throw invalidConfig(`The ${store} was given tokens without the shape of OAuthTokens.`);
  return t;
}

/**
 * The identity the compare-and-swap compares: a digest of the access and refresh token (the
 * store contract's "same accessToken and refreshToken", docs/storage.md), so scripts compare short strings and the
 * digest, not the tokens, is what a store keeps beside them.
 */
export function tokenIdentity(tokens: OAuthTokens): string {
  return createHash("sha256")
    .update(JSON.stringify([tokens.accessToken, tokens.refreshToken ?? null]))
    .digest("hex");
}

/**
 * A short, secret-free code for a driver failure: a Node socket code (`ECONNREFUSED`), a
 * PostgreSQL SQLSTATE (`57P01`), a Redis error's first word (`NOPERM`), or the error class name.
 * Never the message, which may quote a command's arguments or a connection string.
 */
export function failureCode(e: unknown): string {
  const o = (typeof e === "object" && e !== null ? e : {}) as { code?: unknown; name?: unknown; message?: unknown };
  const safe = (s: string) => (/^[A-Za-z0-9_.-]{1,40}$/.test(s) ? s : undefined);
  if (typeof o.code === "string" && safe(o.code)) return o.code;
  if (typeof o.message === "string") {
    const word = /^([A-Z][A-Z_]{2,30})\b/.exec(o.message)?.[1];
    if (word !== undefined) return word;
  }
  if (typeof o.name === "string" && safe(o.name) && o.name !== "Error") return o.name;
  return "unknown failure";
}

/** Throws `invalid_config` for an option name `factory` does not take (names sanitised). */
export function checkOptionNames(options: unknown, factory: string, names: readonly string[], required: string): Record<string, unknown> {
  if (typeof options !== "object" || options === null) throw invalidConfig(`${factory} needs { ${required} }`);
  const o = options as Record<string, unknown>;
  const unknown = Object.keys(o).find((k) => !names.includes(k));
  if (unknown !== undefined) {
    const name = [...unknown].filter((c) => c >= " " && c !== "\x7f").slice(0, 64).join("");
    throw invalidConfig(`${factory} does not take the option "${name}" (it takes: ${names.join(", ")})`);
  }
  return o;
}

/** A positive number of milliseconds from `o[name]`, or `fallback` when absent. */
export function positiveMs(o: Record<string, unknown>, name: string, fallback: number, factory: string): number {
  const v = o[name];
  if (v === undefined) return fallback;
  if (typeof v !== "number" || !Number.isFinite(v) || v <= 0) {
    throw invalidConfig(`${factory}: ${name} must be a positive number of milliseconds`);
  }
  return v;
}

/** `p`, or a rejection with `onTimeout()` after `ms` (the timer never keeps the process alive). */
export function withTimeout<T>(p: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(onTimeout()), ms);
    timer.unref?.();
  });
  p.catch(() => undefined); // a late rejection after the timeout is not unhandled
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/** A random lock owner value: never guessable, never reused. */
export function randomOwner(): string {
  return randomBytes(16).toString("hex");
}
