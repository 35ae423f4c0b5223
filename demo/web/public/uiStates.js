// The UI state of each error code (the error table in README.md), as the admin page shows them:
// one state per error code, worded in i18n.js. Plain JavaScript so that the browser loads it as is
// and the route tests import the same file.

/** Every state the device-code modal can be in. */
export const UI_STATES = ["starting", "waiting", "connected", "denied", "expired", "disabled", "signInAgain", "retrying", "config", "failed"];

/** Whether the modal keeps polling in this state. */
export const POLLING_STATES = ["waiting", "retrying"];

/**
 * The state for a poll status or error code: pending/slow_down -> waiting; access_denied -> denied;
 * expired_token -> expired; device_flow_disabled -> disabled; reauth_required, invalid_grant,
 * refresh_token_* -> signInAgain; retryable codes -> retrying; invalid_config, insecure_endpoint,
 * oauth_error -> config (shown with serverCode). `unknown_flow` (the host forgot the flow, which
 * happens once its code expired) reads as expired; anything else (aborted, a code this page does
 * not know) as failed.
 */
export function uiStateFor(code) {
  switch (code) {
    case "pending":
    case "slow_down":
      return "waiting";
    case "connected":
      return "connected";
    case "access_denied":
      return "denied";
    case "expired_token":
    case "unknown_flow":
      return "expired";
    case "device_flow_disabled":
      return "disabled";
    case "reauth_required":
    case "invalid_grant":
    case "refresh_token_expired":
    case "refresh_token_reused":
    case "refresh_token_invalidated":
      return "signInAgain";
    case "server_error":
    case "network_error":
    case "invalid_response":
    case "redirect":
    case "storage_error":
      return "retrying";
    case "invalid_config":
    case "insecure_endpoint":
    case "oauth_error":
      return "config";
    default:
      return "failed";
  }
}
