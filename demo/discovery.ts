/**
 * The demo's `--issuer` for an RFC 8628 server: its endpoints from the discovery document
 * (OpenID Connect Discovery 1.0, else RFC 8414 authorization server metadata). The document
 * decides where the device code and the tokens go, so it is held to the module's own rules:
 * the issuer, the discovery URL and every endpoint it names must pass the module's endpoint
 * check (`https:`, or `http:` only to the literal loopback host), discovery is never redirected
 * (a 3xx is an error: a redirect could hand the flow to another server), and the document's
 * `issuer` must be the issuer asked for (OpenID Connect Discovery 1.0 section 4.3, RFC 8414
 * section 3.3), so one server cannot speak for another.
 */
import { OAuthDeviceFlowError, openaiCodexProvider, rfc8628Provider, type OAuthProvider } from "../js/oauthDeviceFlow.ts";

/** What a usable `--issuer` looks like (for the usage message). */
export const ISSUER_HELP =
  "an issuer is an absolute https: URL without query or fragment, e.g. https://idp.example.com " +
  "(http: only for localhost, 127.0.0.0/8 or [::1], e.g. http://127.0.0.1:8080)";

/** A discovery problem: the server's document is not one the demo may use. */
export class DiscoveryError extends Error {}

/** Largest discovery document read (the module reads at most 64 KiB of any reply too). */
const MAX_DOCUMENT_BYTES = 64 * 1024;

const message = (e: unknown) => (e instanceof Error ? e.message : String(e));

/** Why `issuer` is not usable, by the module's own rules, or undefined when it is. */
export function issuerProblem(issuer: string): string | undefined {
  try {
    // The factory applies the module's endpoint rules to the issuer, and refuses query and fragment.
    openaiCodexProvider({ issuer });
    return undefined;
  } catch (e) {
    return e instanceof OAuthDeviceFlowError ? e.message : message(e);
  }
}

/** The module's endpoint check on one URL (`name` for the message). */
function checkUrl(name: string, url: string): void {
  try {
    rfc8628Provider({ clientId: "discovery-check", deviceAuthorizationEndpoint: url, tokenEndpoint: url });
  } catch (e) {
    throw new DiscoveryError(`${name} is refused by the module's endpoint rules: ${message(e)}`);
  }
}

/** The two well-known locations: OpenID Connect's (appended) and RFC 8414's (inserted before the path). */
export function discoveryUrls(issuer: string): string[] {
  const u = new URL(issuer);
  const path = u.pathname === "/" ? "" : u.pathname.replace(/\/+$/, "");
  return [`${issuer}/.well-known/openid-configuration`, `${u.origin}/.well-known/oauth-authorization-server${path}`];
}

export interface DiscoverOptions {
  clientId: string;
  scope: string;
  signal?: AbortSignal;
  /** Default: the real fetch. */
  fetch?: typeof fetch;
}

/** Reads the issuer's discovery document and builds the RFC 8628 provider it describes. */
export async function discover(issuer: string, options: DiscoverOptions): Promise<OAuthProvider> {
  const problem = issuerProblem(issuer);
  if (problem !== undefined) throw new DiscoveryError(`the issuer is not usable: ${problem}`);
  const fetchFn = options.fetch ?? fetch;
  const tried: string[] = [];
  for (const url of discoveryUrls(issuer)) {
    checkUrl("the discovery URL", url);
    let res: Response;
    try {
      res = await fetchFn(url, { headers: { accept: "application/json" }, redirect: "manual", signal: options.signal ?? null });
    } catch (e) {
      if (options.signal?.aborted) throw e;
      tried.push(`${url}: ${message(e)}`);
      continue;
    }
    if ((res.status >= 300 && res.status < 400) || res.type === "opaqueredirect") {
      await res.body?.cancel();
      throw new DiscoveryError(
        `${url} answered a redirect (HTTP ${res.status}): discovery is never redirected; use the issuer the server itself names`,
      );
    }
    if (!res.ok) {
      await res.body?.cancel();
      tried.push(`${url}: HTTP ${res.status}`);
      continue;
    }
    const length = Number(res.headers.get("content-length") ?? "0");
    if (length > MAX_DOCUMENT_BYTES) {
      await res.body?.cancel();
      throw new DiscoveryError(`${url} sent a document over ${MAX_DOCUMENT_BYTES} bytes`);
    }
    const text = await res.text();
    if (Buffer.byteLength(text) > MAX_DOCUMENT_BYTES) throw new DiscoveryError(`${url} sent a document over ${MAX_DOCUMENT_BYTES} bytes`);
    let doc: unknown;
    try {
      doc = JSON.parse(text);
    } catch {
      throw new DiscoveryError(`${url} did not send JSON`);
    }
    if (typeof doc !== "object" || doc === null || Array.isArray(doc)) throw new DiscoveryError(`${url} did not send a JSON object`);
    return providerFrom(issuer, url, doc as Record<string, unknown>, options);
  }
  throw new DiscoveryError(`no discovery document at ${issuer} (${tried.join("; ")})`);
}

function providerFrom(issuer: string, url: string, doc: Record<string, unknown>, options: DiscoverOptions): OAuthProvider {
  const named = doc["issuer"];
  // Exact comparison, except for trailing slashes (which the demo strips from --issuer).
  if (typeof named !== "string" || named.replace(/\/+$/, "") !== issuer) {
    throw new DiscoveryError(
      `${url} describes the issuer ${JSON.stringify(typeof named === "string" ? named.slice(0, 200) : named ?? null)}, not ${issuer}: ` +
        "a discovery document must name the issuer it was fetched for",
    );
  }
  for (const [key, value] of Object.entries(doc)) {
    if (key.endsWith("_endpoint") && typeof value === "string") checkUrl(`${key} of the discovery document`, value);
  }
  const device = doc["device_authorization_endpoint"];
  const token = doc["token_endpoint"];
  if (typeof device !== "string" || typeof token !== "string") {
    throw new DiscoveryError(`${url} names no device_authorization_endpoint and token_endpoint: the server has no device flow`);
  }
  const revoke = doc["revocation_endpoint"];
  return rfc8628Provider({
    clientId: options.clientId,
    deviceAuthorizationEndpoint: device,
    tokenEndpoint: token,
    ...(typeof revoke === "string" ? { revocationEndpoint: revoke } : {}),
    scope: options.scope,
  });
}
