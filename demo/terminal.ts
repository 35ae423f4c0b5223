/**
 * What the demo shows on a terminal: a QR code of the verification link, the live progress line
 * while it waits for approval, and redacted token summaries. Kept out of the CLI's flow so that the
 * redaction (a token is never printed whole) is one small function with one rule.
 */
import { renderUnicodeCompact } from "uqr";
import type { DeviceFlowEvent } from "../js/oauthDeviceFlow.ts";

/** A token as `eyJhbG…(812 chars)`: a short prefix and the length, never enough to use it. */
export function redact(token: string | undefined): string {
  if (token === undefined) return "(none)";
  const shown = Math.min(6, Math.floor(token.length / 4));
  return `${token.slice(0, shown)}…(${token.length} chars)`;
}

/** The link as a QR code in Unicode half blocks (two rows per line), for a phone camera. */
export function qrCode(link: string): string {
  return renderUnicodeCompact(link, { ecc: "L", border: 2 });
}

/** A usage limit's reset time in words: `at 21:32 UTC (in 30 minutes)`. */
export function resetInWords(resetsAt: number, now: number = Date.now()): string {
  const time = new Date(resetsAt).toISOString().slice(11, 16);
  const minutes = Math.max(1, Math.round((resetsAt - now) / 60_000));
  const away = minutes < 90 ? `${minutes} minute${minutes === 1 ? "" : "s"}` : `${Math.round(minutes / 60)} hours`;
  return `at ${time} UTC (in ${away})`;
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)}s`;

/**
 * Turns `waitForDeviceToken` events into one status line. On a terminal the line is redrawn in
 * place every 100 ms (elapsed time and the countdown to the next poll move); elsewhere (a pipe, a
 * test) each event prints one plain line.
 */
export class ProgressLine {
  private readonly started = Date.now();
  private nextPollAt = 0;
  private polls = 0;
  private slowDowns = 0;
  private retries = 0;
  private note = "";
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly out: NodeJS.WriteStream) {
    if (out.isTTY) this.timer = setInterval(() => this.draw(), 100);
  }

  onEvent(e: DeviceFlowEvent): void {
    switch (e.type) {
      case "waiting":
        this.polls += 1;
        this.nextPollAt = Date.now() + e.nextPollInMs;
        break;
      case "slowed_down":
        this.slowDowns += 1;
        this.note = `server asked to slow down: interval now ${seconds(e.intervalMs)}`;
        break;
      case "retrying":
        this.retries += 1;
        this.note = `temporary problem (${e.code}), retry ${e.attempt} in ${seconds(e.delayMs)}`;
        break;
      case "expired":
        this.note = "the code expired";
        break;
    }
    if (this.out.isTTY) this.draw();
    else this.out.write(`${this.text()}\n`);
  }

  /** Prints a whole line above the live one (plain `console.log` would land inside it). */
  say(line: string): void {
    if (this.out.isTTY && this.timer) {
      this.out.write(`\r\x1b[2K${line}\n`);
      this.draw();
    } else {
      this.out.write(`${line}\n`);
    }
  }

  /** Ends the live line (the final state stays visible). */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    if (this.out.isTTY) this.out.write(`\r\x1b[2K${this.text(false)}\n`);
  }

  private text(live = true): string {
    const elapsed = seconds(Date.now() - this.started);
    const next = live ? `next poll in ${seconds(Math.max(0, this.nextPollAt - Date.now()))}` : `${this.polls} waits`;
    const note = this.note ? `  (${this.note})` : "";
    return `   waiting for approval: elapsed ${elapsed}, ${next}, slow-downs ${this.slowDowns}, retries ${this.retries}${note}`;
  }

  private draw(): void {
    this.out.write(`\r\x1b[2K${this.text()}`);
  }
}
