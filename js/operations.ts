/**
 * Runs the WebAssembly module's operations and keeps a trap (out of memory, or a bug) from
 * escaping as anything but an `OAuthDeviceFlowError`.
 *
 * Why the stepping is done here: an async export only starts an operation; this module steps it
 * (src/wasm/exec.rs), each step inside a `try`, so that a trap always surfaces here. A trap leaves
 * the instance's state undefined (allocator, stack pointer, borrowed cells), so the instance is
 * never used again: every operation still pending on it fails with the trap error, and the module
 * is re-instantiated before the next call.
 */
import * as wasm from "./wasm.ts";
import type { OperationResults } from "./wasmResults.ts";
import { OAuthDeviceFlowError, asOAuthError } from "./errors.ts";

/** What a call gets when the module trapped under it (out of memory, or a bug). */
function trapError(): OAuthDeviceFlowError {
  return new OAuthDeviceFlowError(
    "invalid_config",
    "The OAuth module failed internally (a WebAssembly trap, such as running out of memory); it was restarted: try again.",
  );
}

/** Rejecters of the operations pending on the current instance. */
const pending = new Set<(e: OAuthDeviceFlowError) => void>();
/** Counts instances: a step for an operation of an earlier instance is dropped. */
let instance = 0;

/** Fails every pending operation with the trap error and has the module re-instantiated. */
export function recoverFromTrap(): void {
  instance += 1;
  const failing = [...pending];
  pending.clear();
  wasm.restartAfterTrap();
  for (const fail of failing) fail(trapError());
}

/** Runs one module operation: steps it until it settles; a trap rejects it (and every other). */
export function run<K extends keyof OperationResults>(
  _op: K,
  start: (exports: Pick<typeof wasm, K>) => number,
): Promise<OperationResults[K]> {
  type T = OperationResults[K];
  return new Promise<T>((resolve, reject) => {
    const born = instance;
    let done = false;
    const fail = (e: OAuthDeviceFlowError) => {
      if (done) return;
      done = true;
      pending.delete(fail);
      reject(e);
    };
    let id: number;
    try {
      id = start(wasm);
    } catch {
      recoverFromTrap();
      fail(trapError());
      return;
    }
    pending.add(fail);
    const advance = (ok: boolean, value: unknown): void => {
      if (done || born !== instance) return;
      let out: wasm.OpStep;
      try {
        out = wasm.opStep(id, ok, value);
      } catch {
        recoverFromTrap();
        return;
      }
      if (out[0] === 0) {
        out[1].then(
          (r) => advance(true, r),
          (e: unknown) => advance(false, e),
        );
        return;
      }
      done = true;
      pending.delete(fail);
      // The one place an operation's untyped result takes its type (js/wasmResults.ts).
      if (out[0] === 1) resolve(out[1] as T);
      else reject(asOAuthError(out[1]));
    };
    // The operation starts on the next microtask, as a promise-returning call would.
    queueMicrotask(() => advance(true, undefined));
  });
}

/** Runs a synchronous module call: its own errors pass, anything else is a trap. */
export function guardedSync<T>(call: () => T): T {
  try {
    return call();
  } catch (e) {
    if (e instanceof OAuthDeviceFlowError) throw e;
    recoverFromTrap();
    throw trapError();
  }
}
