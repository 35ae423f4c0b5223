/**
 * The plain data the package's functions take and return: providers, device codes, token sets,
 * poll results, events and claims, and the shapes of what a host passes in (`fetch`, a clock).
 *
 * Why a module of its own: the device flow, the token session, the stores and the model calls all
 * speak of the same token set and provider, and none of them should import another to name them.
 * Everything here is a type: a token set and a provider are JSON-serialisable data, never classes.
 */
import type { OAuthErrorCode } from "./errors.ts";

/**
 * The `fetch` the package sends with: the global `fetch` fits, and so does any function that takes
 * this subset of its arguments and answers with this subset of a `Response`. Every request is a
 * POST with `redirect: "manual"` (a redirect is reported as the `redirect` error, never followed).
 */
export type FetchLike = (
  url: string,
  init: {
    /** Always `POST`. */
    method: "POST";
    /** The request headers (the provider's own `headers` included). */
    headers: Record<string, string>;
    /** The form- or JSON-encoded body. */
    body: string;
    /** Always `manual`: a redirect is reported, never followed. */
    redirect: "manual";
    /** Aborts the request (the operation's `signal`, or its timeout). */
    signal?: AbortSignal;
  },
) => Promise<{
  /** The HTTP status. */
  status: number;
  /** The reply's headers (only `Retry-After` and `Content-Length` are read). */
  headers: {
    /** A header's value by name, or `null`. */
    get(name: string): string | null;
  };
  /** The body as text (read only when the protocol needs it, at most 64 KiB). */
  text(): Promise<string>;
}>;

/** Milliseconds since the Unix epoch. */
export type Clock = () => number;

/** What every network operation needs from the host. */
export interface DeviceFlowDeps {
  /** Sends the requests (the global `fetch` fits). */
  fetch: FetchLike;
  /** The current time: expiries and waits are computed from it, never from `Date.now` directly. */
  clock: Clock;
  /** Aborts the operation: it rejects with `aborted`. */
  signal?: AbortSignal;
  /** Per fetch call (headers and body), on a real timer: `network_error` when it passes. */
  timeoutMs?: number;
}

/** What {@link waitForDeviceToken} needs besides {@link DeviceFlowDeps}. */
export interface WaitDeps extends DeviceFlowDeps {
  /** Waits between polls; default a real timer (`setTimeout`). Tests pass a fake one. */
  sleep?: (ms: number) => Promise<void>;
  /** Told what the wait is doing (waiting, slowed down, retrying, expired), for a UI. */
  onEvent?: (e: DeviceFlowEvent) => void;
}

/**
 * Plain, JSON-serialisable provider configuration. Build it with `openaiCodexProvider` or
 * `rfc8628Provider`; a hand-built one is validated on every call all the same.
 */
export interface OAuthProvider {
  /** Which protocol: OpenAI's "Sign in with ChatGPT" device login, or plain RFC 8628. */
  kind: "openai-codex" | "rfc8628";
  /** The OAuth client id. */
  clientId: string;
  /** Where the device code is requested. */
  deviceAuthorizationEndpoint: string;
  /** Where tokens are obtained (the code exchange, RFC 8628 polls, refreshes). */
  tokenEndpoint: string;
  /** openai-codex only: where the device code is polled. */
  devicePollEndpoint?: string;
  /** openai-codex only: the redirect URI the authorization code is exchanged with. */
  redirectUri?: string;
  /** openai-codex only: the page the user opens (an RFC 8628 server names it in its reply). */
  verificationUri?: string;
  /** Where `revokeToken` sends a token (RFC 7009); without it `revokeToken` is `invalid_config`. */
  revocationEndpoint?: string;
  /** The scope requested with the device code (rfc8628). */
  scope?: string;
  /** A confidential client's secret (rfc8628), sent as `clientAuth` says. */
  clientSecret?: string;
  /** How `clientSecret` is sent: not at all (default), in the form, or as HTTP Basic. */
  clientAuth?: "none" | "client_secret_post" | "client_secret_basic";
  /** More form fields for the device code request (rfc8628), in order. */
  extraParams?: Record<string, string>;
  /** More request headers for every request to this provider. */
  headers?: Record<string, string>;
}

/** Treat as immutable and keep it server-side: `deviceCode` is a secret. */
export interface DeviceCode {
  /** The code the server polls with: a secret, never shown to the user or sent to a browser. */
  deviceCode: string;
  /** The code the user types on the verification page. */
  userCode: string;
  /** The page where the user enters `userCode`. */
  verificationUri: string;
  /** The same page with the code filled in, when the server gives one (for a link or QR code). */
  verificationUriComplete?: string;
  /** How long to wait between polls, in milliseconds. */
  intervalMs: number;
  /** When the code expires (epoch ms); polling after it is `expired_token`. */
  expiresAt: number;
}

/** A token set, as stored and refreshed. JSON-serialisable; keep it server-side. */
export interface OAuthTokens {
  /** The bearer token for API calls. */
  accessToken: string;
  /** The token type the server named (`Bearer`). */
  tokenType: string;
  /** The single-use refresh token (OpenAI rotates it on every refresh: save the new one). */
  refreshToken?: string;
  /** The OpenID Connect ID token, when the server sent one (it carries the account claims). */
  idToken?: string;
  /** The granted scope, when the server said. */
  scope?: string;
  /** When the access token expires (epoch ms), from `expires_in` at the time of the reply. */
  expiresAt?: number;
}

/**
 * One poll's outcome: keep polling (`pending`), poll more slowly (`slow_down`, the interval already
 * increased), or signed in (`success`).
 */
export type PollResult =
  | {
      /** The user has not finished yet: poll again after `intervalMs`. */
      status: "pending";
      /** The wait before the next poll, in milliseconds. */
      intervalMs: number;
    }
  | {
      /** The server asked to poll more slowly. */
      status: "slow_down";
      /** The new, longer wait before the next poll (5 s more), in milliseconds. */
      intervalMs: number;
    }
  | {
      /** Signed in. */
      status: "success";
      /** The new token set: save it. */
      tokens: OAuthTokens;
    };

/**
 * What {@link waitForDeviceToken} tells `onEvent`: the next poll's delay, a server's slow-down, a
 * retried failure, or the code's expiry.
 */
export type DeviceFlowEvent =
  | {
      /** Waiting for the user before the next poll. */
      type: "waiting";
      /** When the next poll is sent, in milliseconds from now. */
      nextPollInMs: number;
      /** When the device code expires (epoch ms). */
      expiresAt: number;
    }
  | {
      /** The server asked to poll more slowly. */
      type: "slowed_down";
      /** The new poll interval, in milliseconds. */
      intervalMs: number;
    }
  | {
      /** A poll failed with a retryable error and is tried again. */
      type: "retrying";
      /** The retried error's code. */
      code: OAuthErrorCode;
      /** Which retry this is, from 1. */
      attempt: number;
      /** The wait before the retry, in milliseconds. */
      delayMs: number;
    }
  | {
      /** The device code expired: the wait rejects with `expired_token`. */
      type: "expired";
    };

/** Decoded WITHOUT signature verification: for display and routing, never for authorization. */
export interface TokenClaims {
  /** The ChatGPT account id (sent as `ChatGPT-Account-ID`). */
  accountId?: string;
  /** The ChatGPT plan (`plus`, `pro`, ...). */
  planType?: string;
  /** The account's email address. */
  email?: string;
  /** The user id. */
  userId?: string;
  /** The access token's `exp`, in epoch ms. */
  expiresAt?: number;
  /** The access token's `aud`, always as a list. */
  audience?: string[];
}
