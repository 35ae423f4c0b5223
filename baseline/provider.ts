/**
 * Provider configuration for the baseline: the endpoint rule (https, or http to a literal loopback
 * host), the per-kind field rules, header rules and the two factories. A provider is plain data a
 * host may build by hand, so every operation validates it again before any request.
 */
import type { OAuthProvider } from "../js/oauthDeviceFlow.ts";
import { OAuthDeviceFlowError, configError } from "./error.ts";
import {
  MAX_CLIENT_ID_LEN,
  MAX_CLIENT_SECRET_LEN,
  MAX_ENTRIES,
  MAX_HEADERS_TOTAL_LEN,
  MAX_NAME_LEN,
  MAX_SCOPE_LEN,
  MAX_URL_LEN,
  MAX_VALUE_LEN,
  checkArgumentSize,
  checkLen,
} from "./limits.ts";

export const OPENAI_ISSUER = "https://auth.openai.com";
export const OPENAI_CODEX_CLIENT_ID = "app_EMoamEEZ73f0CkXaXp7hrann";

type Obj = Record<string, unknown>;

export const isObject = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

/** Own property only: a reply or a host object never reaches into Object.prototype. */
export const own = (o: Obj, key: string): unknown => (Object.hasOwn(o, key) ? o[key] : undefined);

// Whitespace (Unicode White_Space) and control characters (Cc).
const BAD_URL_CHAR = /[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\u0000-\u001f\u007f-\u009f]/;

function isLoopback(host: string): boolean {
  if (host.toLowerCase() === "localhost" || host === "[::1]") return true;
  const octets = host.split(".");
  return (
    octets.length === 4 &&
    octets[0] === "127" &&
    octets.every((o) => /^[0-9]{1,3}$/.test(o) && Number(o) <= 255)
  );
}

/** `host[:port]` or `[v6]:port` split; undefined when the brackets or the port separator are malformed. */
function splitHostPort(authority: string): { host: string; port?: string } | undefined {
  if (authority.startsWith("[")) {
    const close = authority.indexOf("]");
    if (close < 0) return undefined;
    const after = authority.slice(close + 1);
    if (after === "") return { host: authority.slice(0, close + 1) };
    return after.startsWith(":") ? { host: authority.slice(0, close + 1), port: after.slice(1) } : undefined;
  }
  if (/[[\]]/.test(authority)) return undefined;
  const colon = authority.indexOf(":");
  return colon < 0 ? { host: authority } : { host: authority.slice(0, colon), port: authority.slice(colon + 1) };
}

/** Throws `invalid_config` for a malformed URL, `insecure_endpoint` for clear text off loopback. */
export function checkEndpoint(name: string, url: string): void {
  const bad = (why: string) => configError(`${name} is not a usable URL: ${why}`);
  const insecure = () =>
    new OAuthDeviceFlowError(
      "insecure_endpoint",
      `${name} must use https: (http: is allowed only for localhost, 127.0.0.0/8 and [::1])`,
    );
  if (url === "") throw bad("it is empty");
  checkLen(name, url, MAX_URL_LEN);
  if (BAD_URL_CHAR.test(url)) throw bad("it contains whitespace or control characters");
  const sep = url.indexOf("://");
  if (sep < 0) throw bad("it is not an absolute URL (scheme://host/...)");
  const scheme = url.slice(0, sep).replace(/[A-Z]/g, (c) => c.toLowerCase());
  if (scheme !== "https" && scheme !== "http") throw insecure();
  const rest = url.slice(sep + 3);
  // Clear text goes to the host a URL parser reads (after the last "@", before "/", "\", "?", "#").
  if (scheme === "http") {
    const end = rest.search(/[/\\?#]/);
    const authority = end < 0 ? rest : rest.slice(0, end);
    const parsed = splitHostPort(authority.slice(authority.lastIndexOf("@") + 1));
    if (parsed && parsed.host !== "" && !isLoopback(parsed.host)) throw insecure();
  }
  if (url.includes("\\")) throw bad("it contains a backslash");
  const end = rest.search(/[/?#]/);
  const authority = end < 0 ? rest : rest.slice(0, end);
  if (authority.includes("@")) throw bad("credentials in the URL are not allowed");
  const parsed = splitHostPort(authority);
  if (!parsed) throw bad("the host or port is malformed");
  const { host, port } = parsed;
  if (host === "") throw bad("the host is missing");
  if (port !== undefined) {
    if (!/^[0-9]{1,5}$/.test(port)) throw bad("the port is malformed");
    if (Number(port) > 65_535) throw bad("the port is out of range");
  }
  if (scheme === "http" && !isLoopback(host)) throw insecure();
}

function requiredString(o: Obj, field: string, cap: number): string {
  const v = own(o, field);
  if (typeof v !== "string" || v === "") throw configError(`provider.${field} must be a non-empty string`);
  checkLen(`provider.${field}`, v, cap);
  return v;
}

function optionalString(o: Obj, field: string, cap: number): string | undefined {
  const v = own(o, field);
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "string" || v === "") throw configError(`provider.${field} must be a non-empty string when set`);
  checkLen(`provider.${field}`, v, cap);
  return v;
}

/** `headers` or `extraParams`: at most MAX_ENTRIES string members, names and values within their caps. */
function stringMap(o: Obj, field: string): Array<[string, string]> {
  const v = own(o, field);
  if (v === undefined || v === null) return [];
  if (!isObject(v)) throw configError(`provider.${field} must be an object of strings`);
  const entries = Object.entries(v);
  if (entries.length > MAX_ENTRIES) throw configError(`provider.${field} has more than ${MAX_ENTRIES} members`);
  return entries.map(([k, val]) => {
    if (typeof val !== "string") throw configError(`provider.${field} has a member that is not a string`);
    checkLen(`a name in provider.${field}`, k, MAX_NAME_LEN);
    checkLen(`a value in provider.${field}`, val, MAX_VALUE_LEN);
    return [k, val];
  });
}

const HEADER_NAME = /^[A-Za-z0-9!#$%&'*+\-.^_`|~]+$/;
const RESERVED_HEADERS = ["accept", "content-type", "authorization"];
/** The Fetch standard's forbidden request-header names, and the method overrides (every request is a POST). */
const FORBIDDEN_HEADERS = new Set([
  "accept-charset", "accept-encoding", "access-control-request-headers", "access-control-request-method",
  "connection", "content-length", "cookie", "cookie2", "date", "dnt", "expect", "host", "keep-alive", "origin",
  "referer", "set-cookie", "te", "trailer", "transfer-encoding", "upgrade", "via",
  "x-http-method", "x-http-method-override", "x-method-override",
]);
/** A value fetch sends as it is: tab, space and visible ASCII, Latin-1 above the C1 controls. */
const HEADER_VALUE = /^[\t\x20-\x7e\xa0-\xff]*$/;
const STANDARD_DEVICE_FIELDS = ["client_id", "client_secret", "scope"];
const CLIENT_AUTHS = ["none", "client_secret_post", "client_secret_basic"];

/** A validated copy of `p`, in the field order the factories return. */
export function validateProvider(p: unknown): OAuthProvider {
  if (!isObject(p)) throw configError("provider must be an object");
  checkArgumentSize(p, "provider");
  const kind = own(p, "kind");
  if (kind !== "openai-codex" && kind !== "rfc8628") {
    throw configError('provider.kind must be "openai-codex" or "rfc8628"');
  }
  const codex = kind === "openai-codex";
  const clientId = requiredString(p, "clientId", MAX_CLIENT_ID_LEN);
  const url = (field: string, required: boolean): string | undefined => {
    const value = required ? requiredString(p, field, MAX_URL_LEN) : optionalString(p, field, MAX_URL_LEN);
    if (value !== undefined) checkEndpoint(`provider.${field}`, value);
    return value;
  };
  const deviceAuthorizationEndpoint = url("deviceAuthorizationEndpoint", true) as string;
  const tokenEndpoint = url("tokenEndpoint", true) as string;
  const devicePollEndpoint = url("devicePollEndpoint", codex);
  const redirectUri = url("redirectUri", codex);
  const verificationUri = url("verificationUri", codex);
  const revocationEndpoint = url("revocationEndpoint", false);
  const scope = optionalString(p, "scope", MAX_SCOPE_LEN);
  const clientSecret = optionalString(p, "clientSecret", MAX_CLIENT_SECRET_LEN);
  const rawAuth = own(p, "clientAuth");
  if (rawAuth !== undefined && rawAuth !== null && !CLIENT_AUTHS.includes(rawAuth as string)) {
    throw configError('provider.clientAuth must be "none", "client_secret_post" or "client_secret_basic"');
  }
  const clientAuth = (rawAuth ?? undefined) as OAuthProvider["clientAuth"];
  const extraParams = stringMap(p, "extraParams");
  const headers = stringMap(p, "headers");
  if (headers.reduce((n, [k, v]) => n + k.length + v.length, 0) > MAX_HEADERS_TOTAL_LEN) {
    throw configError(`provider.headers are too long: at most ${MAX_HEADERS_TOTAL_LEN} characters of names and values in total`);
  }
  const auth = clientAuth ?? "none";

  if (codex) {
    const onlyRfc: Array<[string, boolean]> = [
      ["scope", scope !== undefined],
      ["clientSecret", clientSecret !== undefined],
      ["extraParams", extraParams.length > 0],
      ['clientAuth other than "none"', auth !== "none"],
    ];
    const found = onlyRfc.find(([, set]) => set);
    if (found) throw configError(`provider.${found[0]} is not allowed for openai-codex (a public client without scope)`);
  } else {
    const onlyCodex: Array<[string, boolean]> = [
      ["devicePollEndpoint", devicePollEndpoint !== undefined],
      ["redirectUri", redirectUri !== undefined],
      ["verificationUri", verificationUri !== undefined],
    ];
    const found = onlyCodex.find(([, set]) => set);
    if (found) throw configError(`provider.${found[0]} is for openai-codex only`);
    if (auth === "none" && clientSecret !== undefined) {
      throw configError('provider.clientSecret is set but clientAuth is "none"');
    }
    if (auth !== "none" && clientSecret === undefined) {
      throw configError(`provider.clientAuth "${auth}" needs provider.clientSecret`);
    }
    const repeated = extraParams.find(([k]) => STANDARD_DEVICE_FIELDS.includes(k));
    if (repeated) throw configError(`provider.extraParams may not repeat the standard field "${repeated[0]}"`);
    if (extraParams.some(([k]) => k === "")) throw configError("provider.extraParams has an empty name");
  }
  headers.forEach(([name, value], i) => {
    if (RESERVED_HEADERS.includes(name.replace(/[A-Z]/g, (c) => c.toLowerCase()))) {
      throw configError("provider.headers may not set Accept, Content-Type or Authorization");
    }
    const lowerName = name.toLowerCase();
    if (!HEADER_NAME.test(name)) throw configError("provider.headers has an invalid header name");
    if (FORBIDDEN_HEADERS.has(lowerName) || lowerName.startsWith("proxy-") || lowerName.startsWith("sec-")) {
      throw configError("provider.headers names a header fetch sets or refuses (a Fetch standard forbidden header)");
    }
    if (!HEADER_VALUE.test(value)) throw configError("provider.headers has a value fetch cannot send (Latin-1 without control characters other than tab)");
    if (/^[ \t]|[ \t]$/.test(value)) throw configError("provider.headers has a value that starts or ends with a space or tab");
    const lower = name.toLowerCase();
    if (headers.slice(i + 1).some(([other]) => other.toLowerCase() === lower)) {
      throw configError("provider.headers names a header twice (names are case-insensitive)");
    }
  });

  const out: OAuthProvider = { kind, clientId, deviceAuthorizationEndpoint, tokenEndpoint };
  if (devicePollEndpoint !== undefined) out.devicePollEndpoint = devicePollEndpoint;
  if (redirectUri !== undefined) out.redirectUri = redirectUri;
  if (verificationUri !== undefined) out.verificationUri = verificationUri;
  if (revocationEndpoint !== undefined) out.revocationEndpoint = revocationEndpoint;
  if (scope !== undefined) out.scope = scope;
  if (clientSecret !== undefined) out.clientSecret = clientSecret;
  if (clientAuth !== undefined) out.clientAuth = clientAuth;
  if (extraParams.length > 0) out.extraParams = Object.fromEntries(extraParams);
  if (headers.length > 0) out.headers = Object.fromEntries(headers);
  return out;
}

function rejectUnknown(opts: Obj, known: readonly string[], factory: string): void {
  const unknown = Object.keys(opts).find((k) => opts[k] !== undefined && !known.includes(k));
  if (unknown !== undefined) throw configError(`${factory} does not take that option (it takes: ${known.join(", ")})`);
}

export function openaiCodexProvider(opts?: {
  issuer?: string;
  clientId?: string;
  headers?: Record<string, string>;
}): OAuthProvider {
  const o: unknown = opts ?? {};
  if (!isObject(o)) throw configError("openaiCodexProvider options must be an object");
  checkArgumentSize(o, "options");
  rejectUnknown(o, ["issuer", "clientId", "headers"], "openaiCodexProvider");
  const issuer = (optionalString(o, "issuer", MAX_URL_LEN) ?? OPENAI_ISSUER).replace(/\/+$/, "");
  checkEndpoint("issuer", issuer);
  if (/[?#]/.test(issuer)) throw configError("issuer may not have a query or fragment");
  return validateProvider({
    kind: "openai-codex",
    clientId: optionalString(o, "clientId", MAX_CLIENT_ID_LEN) ?? OPENAI_CODEX_CLIENT_ID,
    deviceAuthorizationEndpoint: `${issuer}/api/accounts/deviceauth/usercode`,
    tokenEndpoint: `${issuer}/oauth/token`,
    devicePollEndpoint: `${issuer}/api/accounts/deviceauth/token`,
    redirectUri: `${issuer}/deviceauth/callback`,
    verificationUri: `${issuer}/codex/device`,
    revocationEndpoint: `${issuer}/oauth/revoke`,
    headers: own(o, "headers"),
  });
}

const PROVIDER_FIELDS = [
  "kind", "clientId", "deviceAuthorizationEndpoint", "tokenEndpoint", "devicePollEndpoint", "redirectUri",
  "verificationUri", "revocationEndpoint", "scope", "clientSecret", "clientAuth", "extraParams", "headers",
];

export function rfc8628Provider(opts: Omit<OAuthProvider, "kind">): OAuthProvider {
  const o: unknown = opts;
  if (!isObject(o)) throw configError("rfc8628Provider options must be an object");
  checkArgumentSize(o, "options");
  const kind = own(o, "kind");
  if (kind !== undefined && kind !== null && kind !== "rfc8628") {
    throw configError('rfc8628Provider builds kind "rfc8628"; use openaiCodexProvider for OpenAI');
  }
  rejectUnknown(o, PROVIDER_FIELDS, "rfc8628Provider");
  return validateProvider({ ...o, kind: "rfc8628" });
}
