/**
 * Runs one scripted scenario against one implementation and records everything observable: the
 * outcome (value, or the error's public fields), every request as sent (method, URL, headers in
 * order, body, init members), events, sleeps, clock readings and body reads. Two observations can
 * then be compared byte for byte ("identical on the wire"), or each checked against the contract.
 */
import assert from "node:assert/strict";
import { inspect } from "node:util";
import type { DeviceFlowDeps, DeviceFlowEvent, OAuthErrorCode } from "../../../js/oauthDeviceFlow.ts";
import { FakeClock, FakeFetch, FakeSleep, type Script } from "../support/fakes.ts";
import type { Api, ImplName } from "./implementations.ts";

export interface WireCall {
  method: unknown;
  url: string;
  /** In the order the implementation put them in the init object. */
  headers: Array<[string, string]>;
  body: unknown;
  redirect: unknown;
  initKeys: string[];
  hasSignal: boolean;
}

export interface ErrorView {
  code: OAuthErrorCode;
  retryable: boolean;
  status?: number;
  serverCode?: string;
  retryAfterMs?: number;
}

export type Outcome =
  | { ok: true; value: unknown }
  | { ok: false; error: ErrorView; message: string }
  | { ok: false; foreign: string };

export interface Observation {
  outcome: Outcome;
  /** An async export threw synchronously instead of rejecting (the contract forbids it). */
  threwSynchronously: boolean;
  wire: WireCall[];
  events: DeviceFlowEvent[];
  sleeps: number[];
  clockReads: number;
  textReads: number;
}

/** What a scenario gets: fakes shared by the call, and deps wired to them. */
export interface Env {
  fetch: FakeFetch;
  clock: FakeClock;
  sleep: FakeSleep;
  events: DeviceFlowEvent[];
  deps: DeviceFlowDeps;
  /** deps plus the fake sleep and an event recorder, for waitForDeviceToken. */
  waitDeps: DeviceFlowDeps & { sleep: (ms: number) => Promise<void>; onEvent: (e: DeviceFlowEvent) => void };
}

export interface Scenario {
  replies?: Script[];
  now?: number;
  /** The call is to a synchronous export (factories, isAccessTokenExpired, ...): it may throw. */
  sync?: boolean;
  /**
   * The secrets this call sends, which no error may show. Default: anything containing "CANARY"
   * (the shared cases use only canary secrets; the property test names each operation's own).
   */
  secrets?: readonly string[];
  /** Check only the message and toJSON for secrets, not the stack and inspect() (property runs). */
  quick?: boolean;
  call: (api: Api, env: Env) => unknown;
}

/** Canaries: every secret a scenario uses contains one of these, and no error may show one. */
export const CANARY = "CANARY";

function errorView(api: Api, e: unknown, secrets: readonly string[], quick: boolean): Outcome {
  if (!(e instanceof api.OAuthDeviceFlowError)) return { ok: false, foreign: inspect(e).slice(0, 300) };
  const view: ErrorView = { code: e.code, retryable: e.retryable };
  if (e.status !== undefined) view.status = e.status;
  if (e.serverCode !== undefined) view.serverCode = e.serverCode;
  if (e.retryAfterMs !== undefined) view.retryAfterMs = e.retryAfterMs;
  // The error's printed forms must agree with its fields and never show a secret.
  assert.equal(e.name, "OAuthDeviceFlowError");
  const json = e.toJSON();
  assert.deepEqual(
    Object.keys(json).sort(),
    ["name", "code", "retryable", "message", ...Object.keys(view).filter((k) => k !== "code" && k !== "retryable")].sort(),
    "toJSON has exactly the public fields",
  );
  const views = quick ? [e.message, JSON.stringify(e)] : [e.message, String(e.stack), JSON.stringify(e), inspect(e, { depth: 5 })];
  for (const text of views) {
    for (const secret of secrets) {
      assert.ok(!text.includes(secret), `an error shows a secret: ${text.slice(0, 300)}`);
    }
  }
  assert.ok(e.message.length > 0, "a message that helps a person act");
  return { ok: false, error: view, message: e.message };
}

export async function observe(api: Api, scenario: Scenario): Promise<Observation> {
  const fetch = new FakeFetch(...(scenario.replies ?? []));
  const clock = new FakeClock(scenario.now);
  const sleep = new FakeSleep(clock);
  const events: DeviceFlowEvent[] = [];
  const deps: DeviceFlowDeps = { fetch: fetch.fetch, clock: clock.clock };
  const env: Env = {
    fetch,
    clock,
    sleep,
    events,
    deps,
    waitDeps: { ...deps, sleep: sleep.sleep, onEvent: (e) => events.push(e) },
  };
  let outcome: Outcome;
  let threwSynchronously = false;
  try {
    let result: unknown;
    try {
      result = scenario.call(api, env);
    } catch (e) {
      threwSynchronously = scenario.sync !== true;
      throw e;
    }
    outcome = { ok: true, value: await result };
  } catch (e) {
    outcome = errorView(api, e, scenario.secrets ?? [CANARY], scenario.quick === true);
  }
  return {
    outcome,
    threwSynchronously,
    wire: fetch.calls.map((c) => ({
      method: c.method,
      url: c.url,
      headers: Object.entries(c.headers),
      body: c.body,
      redirect: c.redirect,
      initKeys: c.initKeys,
      hasSignal: c.hasSignal,
    })),
    events,
    sleeps: sleep.requested,
    clockReads: clock.reads,
    textReads: fetch.textReads,
  };
}

/** The outcome without the message (messages are worded freely; their content is checked apart). */
export function comparable(o: Observation): Omit<Observation, "outcome"> & { outcome: unknown } {
  const outcome = o.outcome.ok || !("error" in o.outcome) ? o.outcome : { ok: false, error: o.outcome.error };
  return { ...o, outcome };
}

/** Identical on the wire and in every observable result. */
export function assertSameBehaviour(m: Observation, b: Observation): void {
  assert.deepEqual(b.wire, m.wire, "the same requests, byte for byte (method, URL, headers in order, body, init)");
  assert.deepEqual(comparable(b), comparable(m), "the same outcome, events, sleeps, clock readings and body reads");
}

// ---------------------------------------------------------------------------------------------
// Expectations

export type Expected =
  | { value: unknown }
  | { error: ErrorView | OAuthErrorCode }
  | { check: (o: Observation) => void };

export interface ExpectedWire {
  url: string;
  headers: Record<string, string>;
  body: string;
}

export interface Expectation {
  outcome: Expected;
  /** When set, exactly these requests (URL, headers in order, body); else not checked here. */
  wire?: ExpectedWire[];
  events?: DeviceFlowEvent[];
  sleeps?: number[];
  clockReads?: number;
  textReads?: number;
}

const RETRYABLE = new Set<OAuthErrorCode>(["server_error", "network_error", "invalid_response", "redirect", "storage_error"]);

export function assertExpectation(o: Observation, x: Expectation): void {
  assert.ok(!o.threwSynchronously, "an async export rejects, never throws synchronously");
  const out = x.outcome;
  if ("value" in out) {
    assert.ok(o.outcome.ok, `expected a result, got ${inspect(o.outcome)}`);
    assert.deepEqual(o.outcome.value, out.value);
  } else if ("error" in out) {
    const want: ErrorView =
      typeof out.error === "string" ? { code: out.error, retryable: RETRYABLE.has(out.error) } : { ...out.error };
    assert.ok(!o.outcome.ok && "error" in o.outcome, `expected error ${want.code}, got ${inspect(o.outcome)}`);
    assert.equal(o.outcome.error.code, want.code, `code (message: ${o.outcome.message})`);
    assert.equal(o.outcome.error.retryable, RETRYABLE.has(want.code), "retryable");
    if (typeof out.error !== "string") {
      assert.deepEqual(o.outcome.error, { ...want, retryable: RETRYABLE.has(want.code) }, "status, serverCode, retryAfterMs");
    }
  } else {
    out.check(o);
  }
  if (x.wire) {
    assert.equal(o.wire.length, x.wire.length, "number of requests");
    x.wire.forEach((w, i) => {
      const c = o.wire[i] as WireCall;
      assert.equal(c.method, "POST");
      assert.equal(c.redirect, "manual");
      assert.equal(c.url, w.url, "URL");
      assert.deepEqual(c.headers, Object.entries(w.headers), "headers");
      assert.equal(c.body, w.body, "body");
    });
  }
  if (x.events) assert.deepEqual(o.events, x.events, "events");
  if (x.sleeps) assert.deepEqual(o.sleeps, x.sleeps, "sleeps");
  if (x.clockReads !== undefined) assert.equal(o.clockReads, x.clockReads, "clock readings");
  if (x.textReads !== undefined) assert.equal(o.textReads, x.textReads, "body reads");
}

// ---------------------------------------------------------------------------------------------
// Cases

/** A difference the module makes on purpose (or a module gap, reported), stated per implementation. */
export interface Difference {
  /** Key into DIFFERENCES (docs/side-by-side.md lists them). */
  id: string;
  module: Expectation;
  baseline: Expectation;
}

export interface Case {
  group: string;
  /** Says what the case proves. */
  name: string;
  scenario: Scenario;
  /** What the contract expects of both. */
  expect?: Expectation;
  /** Instead of `expect`: a documented difference. */
  difference?: Difference;
}

export type Verdict = "pass" | "fail" | "documented difference";

/** Checks one implementation's observation of a case. */
export function verdictFor(c: Case, impl: ImplName, o: Observation): void {
  if (c.difference) assertExpectation(o, c.difference[impl]);
  else if (c.expect) assertExpectation(o, c.expect);
  else throw new Error(`case ${c.name} states no expectation`);
}
