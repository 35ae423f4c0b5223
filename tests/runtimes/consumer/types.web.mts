// Type-check only (tsc with the `browser` or `workerd` condition, DOM library, no @types/node): the
// Workers/browser entry's types, and the file store absent from them. An .mts file: the
// repository's tsconfig.json takes tests/**/*.ts and must not see this one.
import * as oauth from "oauth-device-flow-wasm";
import { OAuthDeviceFlowError, createMemoryStore, createTokenSession, openaiCodexProvider, type OAuthTokens, type TokenStore } from "oauth-device-flow-wasm";

const tokens: OAuthTokens = { accessToken: "a", tokenType: "Bearer" };
export const expired: boolean = oauth.isAccessTokenExpired(tokens, Date.now);
const store: TokenStore = createMemoryStore(tokens);
export const session = createTokenSession({ provider: openaiCodexProvider(), fetch: (url, init) => fetch(url, init), clock: Date.now, store });
export const isOurs = (e: unknown): e is OAuthDeviceFlowError => e instanceof OAuthDeviceFlowError;

// @ts-expect-error the file store is not in the Workers/browser entry (no file system)
oauth.createFileStore({ path: "tokens.json" });
