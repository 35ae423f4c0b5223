/**
 * What each async export's operation settles with, as the tsify-generated types of pkg/*.d.ts.
 *
 * Why a map: an async export only starts an operation (it returns the operation's id, see
 * src/wasm/exec.rs) and `opStep` hands the outcome back as an untyped value, so the declarations
 * alone cannot carry the result type. This map is the one place the stepper in js/operations.ts
 * takes it from; tests/ts/wasmTypes.test.ts proves each entry is exactly the drop-in's public type.
 */
import type * as wasm from "./wasm.ts";

/** The result type of each async export's operation, by export name. */
export interface OperationResults {
  /** The device code. */
  requestDeviceCode: wasm.DeviceCode;
  /** One poll's outcome. */
  pollDeviceToken: wasm.PollResult;
  /** The tokens of the finished login. */
  waitForDeviceToken: wasm.OAuthTokens;
  /** The refreshed tokens. */
  refreshAccessToken: wasm.OAuthTokens;
  /** Nothing: revocation succeeded. */
  revokeToken: void;
}
