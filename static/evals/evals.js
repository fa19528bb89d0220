// The evaluations page: upload a dataset, start a run (prompt versions x targets, scorers), watch it over the
// inference websocket (a ticket minted for this session, then {"type": "subscribe", "task_id": run id}; the run's
// JSON is polled when the socket is away), the grid with per-column totals, cancel, compare two runs, export CSV.
const $ = (id) => document.getElementById(id);
const csrf = document.querySelector('meta[name="csrf-token"]').content;
const namespaces = JSON.parse($("ev-namespaces").textContent);
const FINAL = ["done", "cancelled", "failed"];
const state = { ns: null, data: null, run: null, socket: null, poll: null };

function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) if (child !== null && child !== undefined) node.append(child);
  return node;
}

async function call(url, options = {}) {
  const response = await fetch(url, { credentials: "same-origin", ...options,
    headers: { Accept: "application/json", ...(options.body ? { "Content-Type": "application/json", "X-CSRFToken": csrf } : {}) } });
  const payload = await response.json();
  if (!response.ok) throw Object.assign(new Error(payload.error?.message || response.statusText), { envelope: payload });
  return payload;
}
const base = () => `/playground/evals/${encodeURIComponent(state.ns)}`;
const post = (path, body) => call(base() + path, { method: "POST", body: JSON.stringify(body) });

function say(text, error = false) {
  const status = $("ev-status");
  status.textContent = text;
  status.className = "ev-status" + (error ? " alert alert-error" : text ? " alert alert-ok" : "");
}

function problems(error) {
  const listed = error.envelope?.error?.details?.errors;
  return listed ? `${error.message}: ` + listed.map((p) => `${p.field} ${p.problem}`).join("; ") : error.message;
}

const num = (value, digits = 0) => (value === null || value === undefined ? "—" : Number(value).toFixed(digits));
const cost = (value) => (value === null || value === undefined ? "unpriced" : `$${Number(value).toFixed(6)}`);

// ---- the namespace's data ----------------------------------------------------------------------------
async function load() {
  state.data = await call(`${base()}/data`);
  const previous = $("ev-dataset").value;
  const { datasets, prompts, targets, runs, can_write: canWrite } = state.data;
  const kept = new Set([...document.querySelectorAll('input[name="version"]:checked, input[name="target"]:checked')]
    .map((i) => `${i.name}=${i.value}`));
  const box = (name, value) => h("input", { type: "checkbox", name, value, checked: kept.has(`${name}=${value}`) });
  $("ev-dataset").replaceChildren(...datasets.map((d) => h("option", { value: d.id }, `${d.name} (${d.rows} rows)`)));
  if (datasets.some((d) => d.id === previous)) $("ev-dataset").value = previous;
  datasetInfo();
  $("ev-versions").replaceChildren(...(prompts.length ? prompts.flatMap((p) => p.versions.map((v) =>
    h("label", {}, box("version", `${p.id}:${v}`), ` ${p.name} v${v}`)))
    : [h("p", { class: "muted" }, "No saved prompts yet: save one from the playground.")]));
  const chat = targets.filter((t) => t.configured);
  $("ev-targets").replaceChildren(...chat.map((t) =>
    h("label", {}, box("target", t.id), ` ${t.id}`)));
  $("ev-judge").replaceChildren(...chat.map((t) => h("option", { value: t.id }, t.id)));
  for (const id of ["ev-upload-button", "ev-start-button"]) $(id).disabled = !canWrite;
  if (!canWrite) say("You can read this namespace's runs; only its organization's admins can upload and start runs.");
  runsList(runs);
}

function datasetInfo() {
  const found = state.data?.datasets.find((d) => d.id === $("ev-dataset").value);
  $("ev-dataset-info").textContent = found ? `Columns: ${found.columns.join(", ")}${found.has_expected ? "" : " (no expected column)"}` : "No dataset yet: upload one.";
}

function runsList(runs) {
  $("ev-runs").replaceChildren(...runs.map((r) => h("li", {},
    h("button", { type: "button", class: "ev-run-link", onclick: () => open(r.id) },
      h("span", { class: "ev-run-name" }, r.name || r.id), " ",
      h("span", { class: `badge ${badge(r.status)}` }, r.status), " ",
      h("span", { class: "muted" }, `${r.done}/${r.total} · ${r.dataset.name}`)))));
  if (!runs.length) $("ev-runs").append(h("li", { class: "muted" }, "No runs yet."));
  for (const id of ["ev-compare-a", "ev-compare-b"]) {
    $(id).replaceChildren(...runs.map((r) => h("option", { value: r.id }, `${r.name || r.id} (${r.status})`)));
  }
  if (runs.length > 1) $("ev-compare-b").selectedIndex = 1;
}

const badge = (status) => ({ done: "badge-ok", failed: "badge-err", cancelled: "badge-warn" }[status] || "");

// ---- upload --------------------------------------------------------------------------------------------
$("ev-file").addEventListener("change", () => {
  const file = $("ev-file").files[0];
  if (!file) return;
  $("ev-format").value = /\.(jsonl|ndjson)$/i.test(file.name) ? "jsonl" : "csv";
  if (!$("ev-dataset-name").value) $("ev-dataset-name").value = file.name.replace(/\.[^.]+$/, "").slice(0, 100);
});

$("ev-upload").addEventListener("submit", async (event) => {
  event.preventDefault();
  const file = $("ev-file").files[0];
  if (!file) { say("Choose a CSV or JSONL file first.", true); $("ev-file").focus(); return; }
  try {
    const dataset = await post("/datasets", { name: $("ev-dataset-name").value.trim(), format: $("ev-format").value,
      content: await file.text() });
    say(`Uploaded ${dataset.name}: ${dataset.rows} rows, columns ${dataset.columns.join(", ")}.`);
    await load();
    $("ev-dataset").value = dataset.id;
    datasetInfo();
  } catch (error) { say(problems(error), true); }
});
$("ev-dataset").addEventListener("change", datasetInfo);

// ---- start ---------------------------------------------------------------------------------------------
for (const box of document.querySelectorAll('input[name="scorer"]')) {
  box.addEventListener("change", () => {
    const option = document.querySelector(`.ev-option[data-for="${box.value}"]`);
    if (option) option.hidden = !box.checked;
  });
}

function runBody() {
  const checked = (name) => [...document.querySelectorAll(`input[name="${name}"]:checked`)].map((i) => i.value);
  const scorers = checked("scorer").map((type) => {
    if (type === "regex") return { type, pattern: $("ev-regex").value };
    if (type === "json_schema") {
      try { return { type, schema: JSON.parse($("ev-schema").value) }; } catch { return { type, schema: null }; }
    }
    if (type === "llm_judge") return { type, target: $("ev-judge").value };
    return { type };
  });
  const maxTokens = parseInt($("ev-max-tokens").value, 10);
  return { dataset: $("ev-dataset").value, name: $("ev-run-name").value.trim(),
    prompts: checked("version").map((v) => { const [prompt, version] = v.split(":"); return { prompt, version: Number(version) }; }),
    targets: checked("target"), scorers, parameters: Number.isFinite(maxTokens) ? { max_tokens: maxTokens } : {} };
}

async function start() {
  try {
    const run = await post("/runs", runBody());
    say(`Run ${run.id} queued: ${run.total} cells.`);
    await load();
    await open(run.id);
  } catch (error) { say(problems(error), true); }
}
$("ev-start").addEventListener("submit", (event) => { event.preventDefault(); start(); });
document.addEventListener("keydown", (event) => {
  if ((event.ctrlKey || event.metaKey) && event.key === "Enter" && !$("ev-start-button").disabled) {
    event.preventDefault();
    start();
  }
});

// ---- one run: progress, grid, totals -------------------------------------------------------------------
async function open(runId) {
  follow(null);
  const run = await call(`${base()}/runs/${runId}`);
  state.run = run;
  $("ev-comparison").hidden = true;
  $("ev-result").hidden = false;
  $("ev-result-title").textContent = `Run ${run.name || run.id}`;
  $("ev-export").href = `${base()}/runs/${run.id}/export.csv`;
  render(run);
  $("ev-result").focus();
  if (!FINAL.includes(run.status)) follow(run.id);
}

function render(run) {
  progress(run);
  const grid = $("ev-grid");
  const head = h("tr", {}, h("th", { scope: "col" }, "#"), h("th", { scope: "col" }, "Variables"),
    ...run.columns.map((c) => h("th", { scope: "col" }, c.label)));
  const rows = run.grid.rows.map((row) => h("tr", {},
    h("th", { scope: "row" }, String(row.row + 1)),
    h("td", { class: "ev-vars" }, ...Object.entries(row.values).map(([k, v]) => h("div", {}, h("b", {}, `${k}: `), v))),
    ...run.columns.map((_, column) => h("td", { id: `ev-cell-${row.row}-${column}`, class: "ev-cell" },
      cellView(row.cells.find((c) => c.column === column))))));
  const totals = run.totals || [];
  const foot = h("tr", { class: "ev-totals" }, h("th", { scope: "row" }, "Σ"), h("td", {}, "Totals"),
    ...totals.map((t) => h("td", {},
      h("div", {}, `${t.cells} cells${t.failed ? `, ${t.failed} failed` : ""}`),
      h("div", {}, `mean ${num(t.latency_ms_mean)} ms · ${t.tokens} tokens · ${cost(t.cost_usd)}`),
      ...Object.entries(t.scores).map(([name, value]) => h("div", { class: "ev-score" }, `${name}: ${value === null ? "—" : num(value, 3)}`)))));
  grid.replaceChildren(h("thead", {}, head), h("tbody", {}, ...rows), h("tfoot", {}, foot));
}

function cellView(cell) {
  if (!cell) return h("span", { class: "muted" }, "…");
  if (!cell.ok) return h("div", { class: "ev-error" }, `${cell.error?.error?.type || "Error"}: ${cell.error?.error?.message || ""}`);
  return h("div", {}, h("div", { class: "ev-output" }, cell.output),
    h("div", { class: "ev-meta" }, `${num(cell.latency_ms)} ms · ${cell.tokens} tok · ${cost(cell.cost_usd)}`),
    h("div", { class: "ev-scores" }, ...Object.entries(cell.scores || {}).map(([name, value]) =>
      h("span", { class: `badge ${value === null ? "" : value >= 0.5 ? "badge-ok" : "badge-err"}`, title: cell.notes?.[name] || "" },
        `${name} ${value === null ? "?" : num(value, 2)}`))));
}

function progress(run) {
  const percent = run.total ? Math.round((100 * run.done) / run.total) : 100;
  const bar = $("ev-progress");
  bar.style.width = `${percent}%`;
  bar.setAttribute("aria-valuenow", String(percent));
  const status = $("ev-run-status");
  status.textContent = run.status;
  status.className = `badge ${badge(run.status)}`;
  $("ev-progress-text").textContent = `${run.done} of ${run.total} cells (${percent}%)` +
    (run.failed ? `, ${run.failed} failed` : "") + (run.error ? ` — ${run.error.message}` : "");
  $("ev-cancel").disabled = FINAL.includes(run.status) || !state.data?.can_write;
}

// Live: the inference websocket's progress events for this run; the run's JSON when the socket is away.
async function follow(runId) {
  if (state.socket) { state.socket.onclose = null; state.socket.close(); state.socket = null; }
  clearInterval(state.poll);
  if (!runId) return;
  const refresh = async () => {
    const run = await call(`${base()}/runs/${runId}`);
    if (state.run?.id !== runId) return;
    state.run = run;
    render(run);
    if (FINAL.includes(run.status)) { follow(null); load(); }
  };
  const polling = () => { clearInterval(state.poll); state.poll = setInterval(refresh, 1500); };
  try {
    const { ticket } = await call("/v1/inference/stream/tickets", { method: "POST", body: JSON.stringify({ namespace: state.ns }) });
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const socket = new WebSocket(`${scheme}://${location.host}/v1/inference/stream?ticket=${encodeURIComponent(ticket)}`);
    state.socket = socket;
    socket.onopen = () => socket.send(JSON.stringify({ type: "subscribe", task_id: runId }));
    socket.onmessage = (message) => {
      const event = JSON.parse(message.data);
      if (event.type === "subscribed") refresh();  // what happened before the subscription
      if (event.type !== "progress" || event.run !== runId || !state.run) return;
      Object.assign(state.run, { status: event.status, done: event.done, failed: event.failed, total: event.total, error: event.error });
      progress(state.run);
      if (event.cell) {
        const td = $(`ev-cell-${event.cell.row}-${event.cell.column}`);
        if (td) td.replaceChildren(cellView(event.cell));
      }
      if (FINAL.includes(event.status)) refresh();
    };
    socket.onclose = () => { if (state.socket === socket && !FINAL.includes(state.run?.status)) polling(); };
  } catch { polling(); }
}

$("ev-cancel").addEventListener("click", async () => {
  if (!state.run) return;
  try {
    const run = await post(`/runs/${state.run.id}/cancel`, {});
    Object.assign(state.run, run);
    progress(state.run);
    say(`Run ${run.id} cancelled.`);
  } catch (error) { say(problems(error), true); }
});

// ---- compare ---------------------------------------------------------------------------------------------
$("ev-compare").addEventListener("submit", async (event) => {
  event.preventDefault();
  const a = $("ev-compare-a").value, b = $("ev-compare-b").value;
  if (!a || !b) { say("Pick two runs to compare.", true); return; }
  try {
    const compared = await call(`${base()}/compare?a=${encodeURIComponent(a)}&b=${encodeURIComponent(b)}`);
    compareView(compared);
  } catch (error) { say(problems(error), true); }
});

function compareView(compared) {
  const { a, b } = compared;
  const totalsOf = (run) => run.totals.map((t) => h("div", { class: "ev-total" }, h("b", {}, t.label),
    h("div", {}, `mean ${num(t.latency_ms_mean)} ms · ${t.tokens} tokens · ${cost(t.cost_usd)}`),
    ...Object.entries(t.scores).map(([name, value]) => h("div", {}, `${name}: ${value === null ? "—" : num(value, 3)}`))));
  const rows = [h("tr", { class: "ev-totals" }, h("th", { scope: "row" }, "Σ"), h("td", {}, "Totals"),
    h("td", {}, ...totalsOf(a)), h("td", {}, ...totalsOf(b)))];
  for (const row of compared.rows) {
    rows.push(h("tr", { class: row.differs ? "ev-differs" : "" }, h("th", { scope: "row" }, String(row.row + 1)),
      h("td", { class: "ev-vars" }, ...Object.entries(row.values).map(([k, v]) => h("div", {}, h("b", {}, `${k}: `), v))),
      h("td", {}, ...row.a.map(cellView)), h("td", {}, ...row.b.map(cellView))));
  }
  $("ev-compare-grid").replaceChildren(h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "#"), h("th", { scope: "col" }, "Variables"),
    h("th", { scope: "col" }, `A: ${a.name || a.id}`), h("th", { scope: "col" }, `B: ${b.name || b.id}`))), h("tbody", {}, ...rows));
  if (!compared.same_dataset) say("These runs are over different datasets: only their totals compare.");
  $("ev-comparison").hidden = false;
  $("ev-comparison").focus();
}

// ---- start up --------------------------------------------------------------------------------------------
if (namespaces.length) {
  const select = $("ev-namespace");
  const saved = localStorage.getItem("ev-namespace");
  if (saved && namespaces.some((n) => n.id === saved)) select.value = saved;
  state.ns = select.value;
  select.addEventListener("change", () => { state.ns = select.value; localStorage.setItem("ev-namespace", state.ns); follow(null); load(); });
  load().catch((error) => say(problems(error), true));
}
