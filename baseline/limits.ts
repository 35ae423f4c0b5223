/**
 * The baseline's copy of the module's input caps (src/limits.rs): every string a host hands in
 * has a length limit, counted as JavaScript counts it (`string.length`), and checked before the
 * value is used. A token can never be longer than the 64 KiB reply it came from.
 */
import { configError } from "./error.ts";

export const MAX_URL_LEN = 2048;
export const MAX_CLIENT_ID_LEN = 512;
export const MAX_SCOPE_LEN = 4096;
export const MAX_CLIENT_SECRET_LEN = 4096;
export const MAX_NAME_LEN = 256;
export const MAX_VALUE_LEN = 4096;
export const MAX_ENTRIES = 32;
/** All provider headers together, names and values (servers refuse larger request headers). */
export const MAX_HEADERS_TOTAL_LEN = 8192;
export const MAX_TOKEN_LEN = 65_536;
/** The JSON text of one object argument (provider, options, tokens, code). */
export const MAX_ARGUMENT_JSON_LEN = 2 * 1024 * 1024;

/** Throws `invalid_config` when `s` is longer than `cap` (the value is never quoted). */
export function checkLen(what: string, s: string, cap: number): void {
  if (s.length > cap) throw configError(`${what} is too long: at most ${cap} characters are accepted`);
}

/** Throws `invalid_config` when the JSON text of an object argument is longer than the cap. */
export function checkArgumentSize(value: unknown, what: string): void {
  if (typeof value !== "object" || value === null) return;
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch {
    return; // not JSON data: the field checks say what is wrong
  }
  if (text !== undefined) checkLen(`${what} (as JSON)`, text, MAX_ARGUMENT_JSON_LEN);
}
