// The admin page's behaviour, plain browser JavaScript (no build step). The page talks only to its
// own host: it starts a flow, shows the user code and link, polls the host at the pace the host
// answers (intervalMs), and maps every outcome to its documented UI state (uiStates.js). It never
// sees the device code or a token: the host keeps them.
import { LANGUAGES, t } from "./i18n.js";
import { POLLING_STATES, uiStateFor } from "./uiStates.js";

const API = "/api/v1/admin/providers/oauth";
const $ = (id) => document.getElementById(id);

// The admin token the host printed at start-up arrives in the URL fragment (which a browser never
// sends to a server); it is kept for this tab only and taken out of the address bar. Every API
// request carries it.
function readAdminToken() {
  const match = /(?:^#|&)admin-token=([A-Za-z0-9_-]+)/.exec(location.hash);
  if (match) {
    sessionStorage.setItem("adminToken", match[1]);
    history.replaceState(null, "", location.pathname + location.search);
  }
  return sessionStorage.getItem("adminToken") ?? "";
}
const ADMIN_TOKEN = readAdminToken();
const apiHeaders = (extra = {}) => ({ accept: "application/json", "x-admin-token": ADMIN_TOKEN, ...extra });

const ui = {
  lang: LANGUAGES.includes(localStorage.getItem("lang")) ? localStorage.getItem("lang") : "en",
  state: "starting",
  serverCode: undefined,
  account: undefined,
  flow: undefined, // { id, generation, deadline, pollTimer, countdownTimer }
  generation: 0,
  chatTouched: false,
  chatOutput: undefined, // { ok: true | "streaming", text } or { ok: false, key, values?, resetsAt? }
  needsToken: ADMIN_TOKEN === "",
};

async function post(path, body) {
  const res = await fetch(path, {
    method: "POST",
    headers: apiHeaders({ "content-type": "application/json" }),
    body: JSON.stringify(body),
  });
  if (res.status === 401) {
    ui.needsToken = true;
    render();
  }
  let data;
  try {
    data = await res.json();
  } catch {
    data = {};
  }
  return { status: res.status, data };
}

// ---- language ----------------------------------------------------------------------------------

function render() {
  const lang = ui.lang;
  document.documentElement.lang = lang;
  document.title = t(lang, "pageTitle");
  for (const el of document.querySelectorAll("[data-i18n]")) el.textContent = t(lang, el.dataset.i18n);
  for (const el of document.querySelectorAll("[data-i18n-label]")) el.setAttribute("aria-label", t(lang, el.dataset.i18nLabel));
  for (const button of document.querySelectorAll("[data-lang]")) button.setAttribute("aria-pressed", String(button.dataset.lang === lang));
  $("token-notice").hidden = !ui.needsToken;
  const badge = $("connection");
  badge.textContent = t(lang, ui.account ? "connected" : "notConnected");
  badge.dataset.connected = String(Boolean(ui.account));
  const line = $("account-line");
  line.hidden = !ui.account;
  if (ui.account) line.textContent = t(lang, "account", { email: ui.account.email ?? "?", plan: ui.account.planType ?? "?" });
  const status = $("flow-status");
  status.dataset.state = ui.state;
  const serverCode = ui.serverCode ? t(lang, "serverCode", { code: ui.serverCode }) : "";
  status.textContent = t(lang, `state_${ui.state}`, { serverCode });
  if (!ui.chatTouched) $("chat-input").value = t(lang, "chatDefault");
  const out = $("chat-output");
  out.hidden = !ui.chatOutput;
  if (ui.chatOutput) {
    const o = ui.chatOutput;
    out.dataset.ok = String(o.ok);
    out.textContent = o.ok ? o.text : t(lang, o.key, o.resetsAt === undefined ? o.values : resetInWords(lang, o.resetsAt));
  }
}

/** A usage limit's reset time in words: the clock time and how far away it is, in the page's language. */
function resetInWords(lang, resetsAt) {
  const time = new Intl.DateTimeFormat(lang, { hour: "2-digit", minute: "2-digit" }).format(new Date(resetsAt));
  const minutes = Math.max(1, Math.round((resetsAt - Date.now()) / 60_000));
  const relative = new Intl.RelativeTimeFormat(lang, { numeric: "auto" });
  return { time, relative: minutes < 90 ? relative.format(minutes, "minute") : relative.format(Math.round(minutes / 60), "hour") };
}

function setLanguage(lang) {
  ui.lang = lang;
  localStorage.setItem("lang", lang);
  render();
}

// ---- connection status -------------------------------------------------------------------------

async function refreshStatus() {
  try {
    const res = await fetch(`${API}/status`, { headers: apiHeaders() });
    if (res.status === 401) ui.needsToken = true;
    const data = await res.json();
    ui.account = data.connected ? data : undefined;
  } catch {
    ui.account = undefined;
  }
  render();
}

// ---- the device-code modal ---------------------------------------------------------------------

function setState(state, serverCode) {
  ui.state = state;
  ui.serverCode = serverCode;
  $("restart").hidden = POLLING_STATES.includes(state) || state === "starting" || state === "connected";
  $("countdown").parentElement.hidden = !POLLING_STATES.includes(state); // an ended flow has no clock
  render();
}

function stopTimers() {
  if (!ui.flow) return;
  clearTimeout(ui.flow.pollTimer);
  clearInterval(ui.flow.countdownTimer);
}

function showCountdown() {
  const flow = ui.flow;
  if (!flow) return;
  const left = Math.max(0, flow.deadline - performance.now());
  const seconds = Math.ceil(left / 1000);
  $("countdown").textContent = `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, "0")}`;
  if (left === 0 && POLLING_STATES.includes(ui.state)) {
    // The code is over: one more poll lets the host say so (expired_token, no request upstream).
    clearInterval(flow.countdownTimer);
    schedulePoll(0);
  }
}

function schedulePoll(ms) {
  const flow = ui.flow;
  clearTimeout(flow.pollTimer);
  flow.pollTimer = setTimeout(() => poll(flow.generation), ms);
}

async function poll(generation) {
  const flow = ui.flow;
  if (!flow || flow.generation !== generation) return;
  let reply;
  try {
    reply = await post(`${API}/poll`, { flowId: flow.id });
  } catch {
    if (flow.generation !== ui.generation) return;
    setState("retrying");
    schedulePoll(Math.max(flow.intervalMs, 2000));
    return;
  }
  if (flow.generation !== ui.generation) return; // a newer flow replaced this one meanwhile
  const answer = reply.data;
  const state = answer.status === "error" ? uiStateFor(answer.code) : uiStateFor(answer.status);
  setState(state, answer.serverCode);
  if (typeof answer.intervalMs === "number" && answer.intervalMs > 0) flow.intervalMs = answer.intervalMs;
  if (POLLING_STATES.includes(state)) {
    schedulePoll(flow.intervalMs);
    return;
  }
  stopTimers();
  if (state === "connected") await refreshStatus();
}

async function startFlow() {
  stopTimers();
  const previous = ui.flow;
  if (previous) post(`${API}/cancel`, { flowId: previous.id }).catch(() => {});
  ui.generation += 1;
  const generation = ui.generation;
  ui.flow = undefined;
  $("user-code").textContent = "";
  $("verification-link").textContent = "";
  $("verification-link").removeAttribute("href");
  $("countdown").textContent = "–";
  setState("starting");
  const dialog = $("device-modal");
  if (!dialog.open) dialog.showModal();
  let reply;
  try {
    reply = await post(`${API}/start`, {});
  } catch {
    setState("retrying");
    $("restart").hidden = false;
    return;
  }
  if (generation !== ui.generation) return;
  const answer = reply.data;
  if (reply.status !== 200) {
    setState(uiStateFor(answer.code), answer.serverCode);
    $("restart").hidden = false;
    return;
  }
  ui.flow = { id: answer.flowId, generation, intervalMs: answer.intervalMs, deadline: performance.now() + answer.expiresInMs };
  $("user-code").textContent = answer.userCode;
  const link = $("verification-link");
  link.href = answer.verificationUriComplete ?? answer.verificationUri;
  link.textContent = answer.verificationUri;
  setState("waiting");
  showCountdown();
  ui.flow.countdownTimer = setInterval(showCountdown, 1000);
  schedulePoll(answer.intervalMs);
}

function closeModal() {
  stopTimers();
  if (ui.flow && POLLING_STATES.includes(ui.state)) post(`${API}/cancel`, { flowId: ui.flow.id }).catch(() => {});
  ui.flow = undefined;
  ui.generation += 1;
  const dialog = $("device-modal");
  if (dialog.open) dialog.close();
}

async function copyCode() {
  const code = $("user-code").textContent;
  const button = $("copy-code");
  try {
    await navigator.clipboard.writeText(code);
    button.textContent = t(ui.lang, "copied");
  } catch {
    const range = document.createRange();
    range.selectNodeContents($("user-code"));
    getSelection().removeAllRanges();
    getSelection().addRange(range);
    button.textContent = t(ui.lang, "copyFailed");
  }
  setTimeout(() => {
    button.textContent = t(ui.lang, "copy");
  }, 2000);
}

// ---- the chat turn -----------------------------------------------------------------------------

/** What the page shows for a failed chat turn (a JSON answer or the stream's last line). */
function chatFailure(data, status) {
  if (data.error === "not_connected") return { ok: false, key: "chatNotConnected", values: {} };
  if (data.error === "usage_limit_reached" && typeof data.resetsAt === "number") return { ok: false, key: "chatLimit", resetsAt: data.resetsAt };
  return { ok: false, key: "chatFailed", values: { code: data.error ?? status } };
}

/** Calls `onLine` with each JSON line of an NDJSON body as it arrives. */
async function readLines(body, onLine) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    buffer += value;
    let newline;
    while ((newline = buffer.indexOf("\n")) >= 0) {
      const line = buffer.slice(0, newline).trim();
      buffer = buffer.slice(newline + 1);
      if (line !== "") onLine(JSON.parse(line));
    }
  }
}

// The chat route streams the answer as NDJSON ({"delta"} lines, then {"done"} or {"error"}); a
// failure before the first piece comes back as plain JSON.
async function sendChat(event) {
  event.preventDefault();
  const send = $("chat-send");
  send.disabled = true;
  send.textContent = t(ui.lang, "chatSending");
  try {
    const res = await fetch("/api/v1/chat/turn", {
      method: "POST",
      headers: apiHeaders({ "content-type": "application/json", accept: "application/x-ndjson, application/json" }),
      body: JSON.stringify({ message: $("chat-input").value }),
    });
    if (res.status === 401) {
      ui.needsToken = true;
      render();
    }
    if (!(res.headers.get("content-type") ?? "").startsWith("application/x-ndjson")) {
      let data;
      try {
        data = await res.json();
      } catch {
        data = {};
      }
      ui.chatOutput = chatFailure(data, res.status);
    } else {
      const streaming = { ok: "streaming", text: "" };
      ui.chatOutput = streaming;
      render();
      await readLines(res.body, (line) => {
        if (typeof line.delta === "string") streaming.text += line.delta;
        else if (line.done) ui.chatOutput = { ok: true, text: line.text };
        else if (line.error) ui.chatOutput = chatFailure(line, res.status);
        render();
      });
      if (ui.chatOutput === streaming) ui.chatOutput = { ok: false, key: "chatFailed", values: { code: "stream_incomplete" } };
    }
  } catch {
    ui.chatOutput = { ok: false, key: "chatFailed", values: { code: "network_error" } };
  } finally {
    send.disabled = false;
  }
  render();
}

// ---- wiring ------------------------------------------------------------------------------------

for (const button of document.querySelectorAll("[data-lang]")) button.addEventListener("click", () => setLanguage(button.dataset.lang));
$("sign-in").addEventListener("click", () => startFlow());
$("restart").addEventListener("click", () => startFlow());
$("close-modal").addEventListener("click", () => closeModal());
$("device-modal").addEventListener("cancel", (event) => {
  event.preventDefault();
  closeModal();
});
$("copy-code").addEventListener("click", () => copyCode());
$("chat-form").addEventListener("submit", sendChat);
$("chat-input").addEventListener("input", () => {
  ui.chatTouched = true;
});
render();
refreshStatus();
