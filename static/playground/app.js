// The playground page: namespace and target pickers, the form and the JSON editor kept in sync, runs over
// the inference websocket (a ticket minted for this session; no API key in the browser), compare, history,
// Get code and share links.
import { availability, bodyFor, codeCurl, codeFetch, codeOpenAI, codePython, formatCost, isChat, shareDecode,
  shareEncode, targetFields, targetId } from "./body.js";
import { formRender } from "./compose.js";
import * as prompts from "./prompts.js";
import { answerView, errorView, h, responseView } from "./render.js";

const $ = (id) => document.getElementById(id);
const csrf = document.querySelector('meta[name="csrf-token"]').content;
const namespaces = JSON.parse($("pg-namespaces").textContent);
const MAX_COMPARE = 3;

const state = {
  namespace: null, // {id, name, organization}
  catalog: [],
  body: null,
  item: null,
  sockets: new Set(),
  compare: { on: false, ids: [] },
};

// ---- server calls ----------------------------------------------------------------------------------
async function getJson(url) {
  const response = await fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" });
  const payload = await response.json();
  if (!response.ok) throw Object.assign(new Error(payload.error?.message || response.statusText), { envelope: payload });
  return payload;
}

async function postJson(url, data) {
  const response = await fetch(url, { method: "POST", credentials: "same-origin",
    headers: { "Content-Type": "application/json", "X-CSRFToken": csrf }, body: JSON.stringify(data) });
  const payload = await response.json();
  if (!response.ok) throw Object.assign(new Error(payload.error?.message || response.statusText), { envelope: payload });
  return payload;
}

async function ticketMint() {
  return (await postJson("/v1/inference/stream/tickets", { namespace: state.namespace.id })).ticket;
}

/** Run one body on its own websocket; ``view`` gets start/delta/done/error. Resolves with the outcome. */
function socketRun(body, ticket, view) {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const socket = new WebSocket(`${scheme}://${location.host}/v1/inference/stream?ticket=${encodeURIComponent(ticket)}`);
  state.sockets.add(socket);
  return new Promise((resolve) => {
    let requestId = null;
    let settled = false;
    const finish = (outcome) => {
      if (settled) return;
      settled = true;
      state.sockets.delete(socket);
      if (socket.readyState <= WebSocket.OPEN) socket.close();
      resolve({ requestId, ...outcome });
    };
    socket.onopen = () => socket.send(JSON.stringify(body));
    socket.onmessage = (message) => {
      const event = JSON.parse(message.data);
      if (event.type === "start") { requestId = event.request_id; view.start(event); }
      else if (event.type === "delta") view.delta(event);
      else if (event.type === "done") { view.done(event.response); finish({ response: event.response }); }
      else if (event.type === "error") { view.error(event.error); finish({ error: event.error }); }
    };
    socket.onclose = () => {
      if (!settled) {
        const error = { success: false, status: 0, error: { type: "ConnectionClosed", message: "The connection closed before an answer" } };
        view.error(error);
        finish({ error });
      }
    };
  });
}

function stopAll() {
  for (const socket of state.sockets) {
    if (socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify({ type: "cancel" }));
  }
}

async function runRecord(body, outcome) {
  const refused = !outcome.requestId && outcome.error
    ? { status: outcome.error.status || 0, type: outcome.error.error?.type || "Error" } : undefined;
  try {
    await postJson("/playground/runs", { namespace: state.namespace.id, request_id: outcome.requestId || "", body, refused });
  } catch (e) {
    console.warn("history not kept:", e.message);
  }
}

// ---- a result pane ---------------------------------------------------------------------------------
/** Shows one run as it happens in ``root``: streamed text, then the response or the error. */
function paneView(root, item, { onState = () => {} } = {}) {
  let answers = null;
  let streamed = false;
  const status = h("div", { class: "pane-status" });
  return {
    pending() {
      root.replaceChildren(h("div", { class: "pane-running" }, h("span", { class: "spinner", "aria-hidden": "true" }), "Connecting…"));
    },
    start(event) {
      answers = h("div", { class: "answers streaming" });
      status.replaceChildren(h("span", { class: "spinner", "aria-hidden": "true" }),
        `Running on ${event.provider}/${event.model}`, h("code", { class: "muted", title: "request id" }, event.request_id));
      root.replaceChildren(status, answers);
      root.setAttribute("aria-busy", "true"); // announced once, when the answer is complete
      onState("running");
    },
    delta(event) {
      streamed = true;
      let box = answers.querySelector(`[data-index="${event.index}"] .answer-text`);
      if (!box) {
        answers.append(answerView({ text: "" }, event.index, 1));
        box = answers.querySelector(`[data-index="${event.index}"] .answer-text`);
      }
      box.append(event.text);
      box.classList.add("cursor");
    },
    done(response) {
      root.removeAttribute("aria-busy");
      root.replaceChildren(responseView(response, item));
      onState("done", response);
    },
    error(envelope) {
      root.removeAttribute("aria-busy");
      const cancelled = envelope.error?.type === "Cancelled";
      const keep = streamed && answers ? answers : null;
      if (keep) keep.querySelectorAll(".cursor").forEach((el) => el.classList.remove("cursor"));
      root.replaceChildren(...[keep, cancelled
        ? h("p", { class: "stopped", role: "status" }, h("span", { class: "badge badge-warn" }, "Stopped"),
          " The run was cancelled; usage counts what was generated.")
        : errorView(envelope)].filter(Boolean));
      onState(cancelled ? "stopped" : "error", envelope);
    },
  };
}

// ---- run -------------------------------------------------------------------------------------------
function setRunning(running) {
  $("pg-run").disabled = running;
  $("pg-stop").disabled = !running;
  document.getElementById("pg").classList.toggle("is-running", running);
}

function runState(text) {
  $("pg-run-state").textContent = text;
}

function bodyForTarget(item) {
  // The same request for another target: its target keys, and the parameters it declares.
  const declared = new Set((item.parameters || []).map((p) => p.name));
  const { provider, model, inference_name, feature_uri, parameters, ...rest } = state.body;
  const body = { ...targetFields(item), ...rest };
  const kept = Object.fromEntries(Object.entries(parameters || {}).filter(([k]) => declared.has(k)));
  if (Object.keys(kept).length) body.parameters = kept;
  return body;
}

async function runStart() {
  if (state.sockets.size) return;
  if (!jsonCommit()) { runState("Fix the JSON first."); return; }
  let body;
  try { body = prompts.sendable(state.body); } catch (e) { runState(e.message); return; }
  setRunning(true);
  runState("Running…");
  try {
    const ticket = await ticketMint();
    if (state.compare.on) await compareRun(ticket);
    else {
      const view = paneView($("pg-result"), state.item, { onState: (s, r) => {
        if (s === "running") runState("Streaming…");
        if (s === "done") runState(`Done in ${Math.round(r.latency_ms)} ms.`);
        if (s === "stopped") runState("Stopped.");
        if (s === "error") runState("Failed.");
      } });
      view.pending();
      const outcome = await socketRun(body, ticket, view);
      runRecord(body, outcome);
    }
  } catch (e) {
    $("pg-result").replaceChildren(errorView(e.envelope || { error: { type: "Error", message: e.message } }));
    runState("Failed.");
  } finally {
    setRunning(false);
  }
}

// ---- compare ---------------------------------------------------------------------------------------
function comparable(item) {
  return state.catalog.filter((other) => other.kind !== "feature_uri"
    && availability(other, state.namespace.name).ok
    && (isChat(other) ? isChat(item) : (other.modalities || []).some((m) => (item.modalities || []).includes(m))));
}

function compareRender() {
  const cols = $("pg-compare-cols");
  cols.replaceChildren();
  const options = state.item ? comparable(state.item) : [];
  state.compare.ids = state.compare.ids.filter((id) => options.some((o) => o.id === id));
  const ids = [targetId(state.body), ...state.compare.ids];
  ids.forEach((id, i) => {
    let head;
    if (i === 0) {
      head = h("div", { class: "compare-target" }, h("span", { class: "badge" }, "Main"), h("strong", {}, id));
    } else {
      const select = h("select", { "aria-label": `Target ${i + 1}` },
        options.map((o) => h("option", { value: o.id, selected: o.id === id }, o.id)));
      select.addEventListener("change", () => { state.compare.ids[i - 1] = select.value; compareRender(); });
      head = h("div", { class: "compare-target" }, select, h("button", { type: "button", class: "btn btn-small btn-icon",
        "aria-label": `Remove target ${i + 1}`, onclick: () => { state.compare.ids.splice(i - 1, 1); compareRender(); } }, "✕"));
    }
    cols.append(h("div", { class: "compare-col", "data-target": id }, head,
      h("div", { class: "compare-result", "aria-live": "polite" }, h("p", { class: "muted" }, "Not run yet."))));
  });
  $("pg-compare-add").disabled = ids.length >= MAX_COMPARE || options.length === 0;
}

function compareAdd() {
  const options = comparable(state.item);
  const used = new Set([targetId(state.body), ...state.compare.ids]);
  const next = options.find((o) => !used.has(o.id)) || options[0];
  if (next && state.compare.ids.length < MAX_COMPARE - 1) state.compare.ids.push(next.id);
  compareRender();
}

async function compareRun(ticket) {
  const cols = [...$("pg-compare-cols").querySelectorAll(".compare-col")];
  runState(`Comparing ${cols.length} targets…`);
  await Promise.all(cols.map(async (col) => {
    const item = state.catalog.find((c) => c.id === col.dataset.target) || state.item;
    const body = prompts.sendable(col === cols[0] ? state.body : bodyForTarget(item));
    const view = paneView(col.querySelector(".compare-result"), item);
    view.pending();
    const outcome = await socketRun(body, ticket, view);
    runRecord(body, outcome);
  }));
  runState("Compared.");
}

function compareToggle(on) {
  state.compare.on = on;
  $("pg-compare-toggle").setAttribute("aria-pressed", String(on));
  $("pg-compare").hidden = !on;
  $("pg").classList.toggle("comparing", on);
  if (on && !state.compare.ids.length) compareAdd(); else compareRender();
}

// ---- form <-> JSON ---------------------------------------------------------------------------------
function jsonShow() {
  $("pg-json").value = JSON.stringify(state.body, null, 2);
  jsonStatus(true);
  prompts.changed();
}

function jsonStatus(ok, message) {
  const status = $("pg-json-status");
  status.textContent = ok ? "In sync with the form." : `Not valid JSON: ${message}`;
  status.classList.toggle("bad", !ok);
  if (ok) $("pg-json").removeAttribute("aria-invalid"); else $("pg-json").setAttribute("aria-invalid", "true");
}

/** Parse the JSON editor into the body; false (and a message) when it is not a JSON object. */
function jsonCommit() {
  try {
    const parsed = JSON.parse($("pg-json").value);
    if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) throw new Error("the body must be a JSON object");
    if (JSON.stringify(parsed) !== JSON.stringify(state.body)) {
      state.body = parsed;
      state.item = state.catalog.find((c) => c.id === targetId(parsed)) || null;
      targetSelectSync();
      formShow();
      prompts.changed();
    }
    jsonStatus(true);
    return true;
  } catch (e) {
    jsonStatus(false, e.message);
    return false;
  }
}

function formShow() {
  formRender($("pg-form"), { body: state.body, item: state.item, onChange: (structural) => {
    if (structural) formShow();
    jsonShow();
    draftSave();
  } });
  targetInfo();
  if (state.compare.on) compareRender();
}

function draftSave() {
  try { localStorage.setItem(`pg-draft:${state.namespace.id}`, JSON.stringify(state.body)); } catch { /* full */ }
}

function draftLoad() {
  try { return JSON.parse(localStorage.getItem(`pg-draft:${state.namespace.id}`) || "null"); } catch { return null; }
}

// ---- targets ---------------------------------------------------------------------------------------
function groupName(item) {
  if (item.kind === "plugin") return "Plugins";
  if (item.kind === "feature_uri") return "Feature URIs";
  return item.provider;
}

function targetSelectRender() {
  const select = $("pg-target");
  const groups = new Map();
  for (const item of state.catalog) {
    const name = groupName(item);
    if (!groups.has(name)) groups.set(name, []);
    groups.get(name).push(item);
  }
  select.replaceChildren(...[...groups].map(([name, items]) => h("optgroup", { label: name }, items.map((item) => {
    const { ok, reason } = availability(item, state.namespace.name);
    const label = item.kind === "feature_uri" ? item.feature_uri : item.model;
    return h("option", { value: item.id, disabled: !ok, title: ok ? item.description : reason },
      ok ? `${label} · ${(item.modalities || []).join(", ")}` : `${label} — ${reason}`);
  }))));
  targetSelectSync();
}

function targetSelectSync() {
  const select = $("pg-target");
  const id = targetId(state.body);
  let custom = select.querySelector("option[data-custom]");
  if (state.item) {
    if (custom) custom.remove();
    select.value = id;
  } else {
    if (!custom) { custom = h("option", { "data-custom": "" }); select.prepend(custom); }
    custom.value = id || "";
    custom.textContent = id ? `${id} (not in the catalog)` : "(no target in the JSON)";
    select.value = custom.value;
  }
}

function targetInfo() {
  const info = $("pg-target-info");
  const item = state.item;
  if (!item) { info.replaceChildren(); return; }
  const price = item.price && (item.price.prompt_per_million || item.price.completion_per_million)
    ? `$${item.price.prompt_per_million} / $${item.price.completion_per_million} per M tokens (prompt / completion)` : "free";
  info.replaceChildren(...[h("span", {}, item.description || ""),
    ...(item.modalities || []).map((m) => h("span", { class: "badge" }, m)),
    item.can_stream ? h("span", { class: "badge badge-ok" }, "streams") : null,
    h("span", { class: "muted" }, price)].filter(Boolean));
}

function targetPick(id) {
  const item = state.catalog.find((c) => c.id === id);
  if (!item) return;
  state.item = item;
  state.body = bodyFor(item, state.body || {});
  localStorage.setItem(`pg-target:${state.namespace.id}`, id);
  formShow();
  jsonShow();
  draftSave();
}

function defaultTarget() {
  const usable = state.catalog.filter((c) => availability(c, state.namespace.name).ok);
  const saved = localStorage.getItem(`pg-target:${state.namespace.id}`);
  // First visit: a chat model on this machine (it always answers), else any chat model that streams.
  return usable.find((c) => c.id === saved) || usable.find((c) => isChat(c) && c.can_stream && c.provider === "local")
    || usable.find((c) => isChat(c) && c.can_stream) || usable[0];
}

async function namespaceSwitch(id, body = null) {
  // Ids, not names: a member of two organizations may see two namespaces of the same name.
  state.namespace = namespaces.find((n) => n.id === id) || namespaces[0];
  $("pg-namespace").value = state.namespace.id;
  localStorage.setItem("pg-namespace", state.namespace.id);
  $("pg-target").replaceChildren(h("option", {}, "Loading…"));
  try {
    state.catalog = (await getJson(`/playground/models?namespace=${encodeURIComponent(state.namespace.id)}`)).data;
  } catch (e) {
    $("pg-result").replaceChildren(errorView(e.envelope || { error: { type: "Error", message: e.message } }));
    return;
  }
  const start = body || draftLoad();
  const known = start && state.catalog.find((c) => c.id === targetId(start));
  if (start && (known || body)) {
    state.body = start;
    state.item = known || null;
  } else {
    const item = defaultTarget();
    state.item = item || null;
    state.body = item ? bodyFor(item, {}) : { inputs: {} };
  }
  targetSelectRender();
  formShow();
  jsonShow();
  prompts.namespaceChanged();
}

/** Put a body in the form and the JSON editor (history, a loaded prompt version, a logged request). */
function bodyLoad(body) {
  state.body = structuredClone(body);
  state.item = state.catalog.find((c) => c.id === targetId(body)) || null;
  targetSelectSync();
  formShow();
  jsonShow();
  draftSave();
}

// ---- dialogs: code, history, share ------------------------------------------------------------------
const CODE = [
  ["curl", (b, o) => ({ code: codeCurl(b, o) })],
  ["Python", (b, o) => ({ code: codePython(b, o) })],
  ["JavaScript", (b, o) => ({ code: codeFetch(b, o) })],
  ["OpenAI SDK", (b, o) => codeOpenAI(b, o)],
];

function codeShow(index) {
  if (!jsonCommit()) return;
  const options = { origin: location.origin, namespace: state.namespace.name };
  const tabs = $("pg-code-tabs");
  tabs.replaceChildren(...CODE.map(([name], i) => h("button", { type: "button", role: "tab", "aria-selected": String(i === index),
    tabindex: i === index ? "0" : "-1", "data-lang": name, onclick: () => codeShow(i) }, name)));
  tabsKeyboard(tabs, (i) => codeShow(i));
  const made = CODE[index][1](prompts.sendable(state.body, { forCode: true }), options);
  $("pg-code-text").textContent = made.code || `Not available for this request: ${made.na}.`;
  $("pg-code-text").dataset.lang = CODE[index][0];
  $("pg-code-copy").disabled = !made.code;
  $("pg-code-copied").textContent = "";
  if (!$("pg-code").open) $("pg-code").showModal();
  tabs.children[index].focus();
}

function historyRow(run) {
  const u = run.usage;
  const status = !u ? h("span", { class: "badge" }, "pending")
    : u.status === 200 ? h("span", { class: "badge badge-ok" }, "200")
      : h("span", { class: "badge badge-err", title: u.error_type }, `${u.status} ${u.error_type}`);
  const open = async () => {
    $("pg-history").close();
    if (!await prompts.open(run.body)) bodyLoad(run.body);
  };
  const summary = (() => {
    const i = run.body.inputs || {};
    const text = Array.isArray(i.messages) ? i.messages[i.messages.length - 1]?.content
      : Array.isArray(i.prompts) ? i.prompts.join(" · ") : i.text ?? (Array.isArray(i.texts) ? i.texts.join(" · ") : "");
    return text || Object.keys(i).join(", ");
  })();
  return h("tr", {},
    h("td", { class: "num" }, new Date(run.created_at).toLocaleTimeString()),
    h("td", {}, h("code", {}, run.target), h("div", { class: "muted history-summary" }, String(summary).slice(0, 90),
      run.media_omitted ? " (media not kept)" : "")),
    h("td", {}, status, u && u.cached ? h("span", { class: "badge badge-ok" }, "cached") : null),
    h("td", { class: "num" }, u && u.latency_ms != null ? `${Math.round(u.latency_ms)} ms` : "–"),
    h("td", { class: "num" }, u ? String(u.tokens) : "–"),
    h("td", { class: "num" }, u ? formatCost(u.cost_usd) : "–"),
    h("td", {}, h("div", { class: "history-actions" },
      h("button", { type: "button", class: "btn btn-small", onclick: open, "aria-label": `Open run ${run.request_id || run.id}` }, "Open"),
      h("button", { type: "button", class: "btn btn-small", "aria-label": `Re-run ${run.request_id || run.id}`,
        onclick: async () => { await open(); runStart(); } }, "Re-run"))));
}

async function historyShow(attempt = 0) {
  const list = $("pg-history-list");
  if (!attempt) list.replaceChildren(h("p", { class: "muted" }, "Loading…"));
  if (!$("pg-history").open) $("pg-history").showModal();
  try {
    const runs = (await getJson(`/playground/runs?namespace=${encodeURIComponent(state.namespace.id)}`)).data;
    // Usage records are written just after the answer: look again for a few seconds while some are pending.
    if (runs.some((r) => !r.usage) && attempt < 5) {
      setTimeout(() => { if ($("pg-history").open) historyShow(attempt + 1); }, 1000);
    }
    list.replaceChildren(runs.length ? h("table", { class: "history" },
      h("thead", {}, h("tr", {}, ["When", "Request", "Status", "Latency", "Tokens", "Cost", ""].map((t) => h("th", { scope: "col" }, t)))),
      h("tbody", {}, runs.map(historyRow))) : h("p", { class: "muted" }, "No runs yet in this namespace."));
  } catch (e) {
    list.replaceChildren(errorView(e.envelope || { error: { type: "Error", message: e.message } }));
  }
}

function shareShow() {
  if (!jsonCommit()) return;
  const link = `${location.origin}/playground#request=${shareEncode(state.body, state.namespace.name)}`;
  $("pg-share-link").value = link;
  $("pg-share-copied").textContent = "";
  $("pg-share-dialog").showModal();
  $("pg-share-link").select();
}

async function copyText(text, statusEl) {
  try { await navigator.clipboard.writeText(text); statusEl.textContent = "Copied."; }
  catch { statusEl.textContent = "Select the text and copy it (the clipboard is not available)."; }
}

// ---- tabs (form / JSON) -----------------------------------------------------------------------------
function tabsKeyboard(list, select) {
  list.onkeydown = (e) => {
    const tabs = [...list.querySelectorAll('[role="tab"]')];
    const i = tabs.indexOf(document.activeElement);
    if (i < 0) return;
    const next = e.key === "ArrowRight" ? (i + 1) % tabs.length : e.key === "ArrowLeft" ? (i - 1 + tabs.length) % tabs.length : null;
    if (next === null) return;
    e.preventDefault();
    select(next);
  };
}

function editorTab(which) {
  if (which === "form" && !jsonCommit()) return; // stay on invalid JSON until it is fixed
  const json = which === "json";
  $("pg-tab-form").setAttribute("aria-selected", String(!json));
  $("pg-tab-json").setAttribute("aria-selected", String(json));
  $("pg-tab-form").tabIndex = json ? -1 : 0;
  $("pg-tab-json").tabIndex = json ? 0 : -1;
  $("pg-form").hidden = json;
  $("pg-json-panel").hidden = !json;
  (json ? $("pg-tab-json") : $("pg-tab-form")).focus();
}

// ---- wiring ----------------------------------------------------------------------------------------
function wire() {
  $("pg-namespace").addEventListener("change", (e) => namespaceSwitch(e.target.value));
  $("pg-target").addEventListener("change", (e) => targetPick(e.target.value));
  $("pg-run").addEventListener("click", runStart);
  $("pg-stop").addEventListener("click", stopAll);
  $("pg-tab-form").addEventListener("click", () => editorTab("form"));
  $("pg-tab-json").addEventListener("click", () => editorTab("json"));
  tabsKeyboard(document.querySelector(".pg-request .pg-tabs"), (i) => editorTab(i ? "json" : "form"));
  $("pg-json").addEventListener("input", () => { if (jsonCommit()) draftSave(); });
  $("pg-compare-toggle").addEventListener("click", () => compareToggle(!state.compare.on));
  $("pg-compare-add").addEventListener("click", compareAdd);
  $("pg-code-open").addEventListener("click", () => codeShow(0));
  $("pg-code-copy").addEventListener("click", () => copyText($("pg-code-text").textContent, $("pg-code-copied")));
  $("pg-history-open").addEventListener("click", () => historyShow());
  $("pg-share").addEventListener("click", shareShow);
  $("pg-share-copy").addEventListener("click", () => copyText($("pg-share-link").value, $("pg-share-copied")));
  document.querySelectorAll("dialog [data-close]").forEach((b) => b.addEventListener("click", () => b.closest("dialog").close()));
  document.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) {
      e.preventDefault();
      if (!document.querySelector("dialog[open]")) runStart();
    }
  });
  document.addEventListener("paste", (e) => {
    const zone = document.querySelector('[data-paste="image"]');
    const file = [...(e.clipboardData?.files || [])].find((f) => f.type.startsWith("image/"));
    if (zone && file) {
      e.preventDefault();
      const input = document.getElementById(zone.getAttribute("for"));
      const transfer = new DataTransfer();
      transfer.items.add(file);
      input.files = transfer.files;
      input.dispatchEvent(new Event("change"));
    }
  });
}

async function start() {
  wire();
  let shared = null;
  const match = location.hash.match(/^#request=([\w-]+)$/);
  if (match) {
    try { shared = shareDecode(match[1]); } catch { runState("The shared link could not be read."); }
  }
  // A shared link names its namespace (readable, the same for colleagues): the first of that name, unless
  // ?namespace= gives the id (links from the prompt pages and the dashboard do).
  const params = new URLSearchParams(location.search);
  // A logged request's media were not kept: their placeholders are listed beside the form, never sent.
  const stripped = shared ? prompts.placeholdersStrip(shared.body) : null;
  if (stripped) shared.body = stripped.value;
  const named = namespaces.find((n) => n.id === params.get("namespace"))
    || (shared?.namespace && namespaces.find((n) => n.name === shared.namespace));
  await namespaceSwitch(named ? named.id : localStorage.getItem("pg-namespace"), shared ? shared.body : null);
  if (shared) runState("Loaded a shared request: press Run to send it.");
  await prompts.attach({ getBody: () => state.body, bodyLoad, namespace: () => state.namespace, runState, jsonCommit },
    { params, shared, omitted: stripped ? stripped.found : [] });
  document.getElementById("pg").dataset.ready = "true";
}

start();
