// Saved prompts in the playground: Save the composition (system, messages, target, parameters) as a new prompt or
// a new version of one; Load a version (?namespace=&prompt=&version= or a body that calls one); one field per
// {{variable}}, found as the user types with the rule of inference/prompts/render.py. Run sends
// {"prompt": {id, version, variables}} while the composition is the loaded version's, so that the usage record
// names the prompt and version; after an edit it fills the variables in here and sends the text.
import { targetId } from "./body.js";
import { h } from "./render.js";

// The server's rule (render.VARIABLE): {{name}}, spaces inside the braces allowed.
export const VARIABLE = /\{\{\s*([A-Za-z_][A-Za-z0-9_]{0,63})\s*\}\}/g;

const $ = (id) => document.getElementById(id);
const csrf = () => document.querySelector('meta[name="csrf-token"]').content;

let host = null; // what app.js gives: getBody, bodyLoad(body), namespace(), runState(text)
const state = {
  loaded: null, // {namespace, id, name, version, labels, target, composition}
  values: {}, // variable name -> value typed in the form
  names: [], // the variables of the composition, in order of first use
  omitted: [], // media placeholders of a logged request: [{path, sha256, bytes}]
  canWrite: false,
  prompts: [],
};

// ---- pure ------------------------------------------------------------------------------------------
/** The names of the {{variables}} in a system text and messages, in order of first use. */
export function variablesOf(system, messages) {
  const seen = [];
  for (const text of [system || "", ...(messages || []).map((m) => (m && typeof m.content === "string" ? m.content : ""))]) {
    for (const match of text.matchAll(VARIABLE)) if (!seen.includes(match[1])) seen.push(match[1]);
  }
  return seen;
}

function fill(text, values) {
  return text.replace(VARIABLE, (_, name) => values[name]);
}

function sorted(value) {
  if (Array.isArray(value)) return value.map(sorted);
  if (value && typeof value === "object") return Object.fromEntries(Object.keys(value).sort().map((k) => [k, sorted(value[k])]));
  return value;
}

/** What a body says that a prompt version keeps. */
export function compositionOf(body) {
  const inputs = (body && body.inputs) || {};
  return { system: typeof inputs.system === "string" ? inputs.system : "",
    messages: Array.isArray(inputs.messages) ? inputs.messages : [],
    target: targetId(body) || (typeof body?.model === "string" ? body.model : ""),
    parameters: body && body.parameters && typeof body.parameters === "object" ? body.parameters : {} };
}

function sameComposition(body, loaded) {
  const now = compositionOf(body);
  const saved = loaded.composition;
  const extraInputs = Object.keys((body && body.inputs) || {}).filter((k) => k !== "system" && k !== "messages");
  return !extraInputs.length && JSON.stringify(sorted([now.system, now.messages, now.parameters]))
    === JSON.stringify(sorted([saved.system, saved.messages, saved.parameters]))
    && (!saved.target || saved.target === now.target);
}

/** The body a version makes in the playground: its target (else the current one), messages, system, parameters. */
function bodyOfVersion(version, current) {
  const body = {};
  const target = version.target || "";
  if (target.includes("/")) {
    const [provider, ...rest] = target.split("/");
    Object.assign(body, { provider, model: rest.join("/") });
  } else if (target) body.model = target;
  else for (const key of ["provider", "model", "inference_name", "feature_uri"]) if (current && key in current) body[key] = current[key];
  body.inputs = { messages: structuredClone(version.messages) };
  if (version.system) body.inputs.system = version.system;
  if (version.parameters && Object.keys(version.parameters).length) body.parameters = structuredClone(version.parameters);
  return body;
}

/** A logged request's body without its media placeholders ({"omitted": "media", sha256, bytes}), and where they were. */
export function placeholdersStrip(value, path = "", found = []) {
  if (Array.isArray(value)) {
    const kept = [];
    value.forEach((item, i) => {
      if (item && typeof item === "object" && item.omitted === "media") found.push({ path: `${path}[${i}]`, ...item });
      else kept.push(placeholdersStrip(item, `${path}[${i}]`, found).value);
    });
    return { value: kept, found };
  }
  if (value && typeof value === "object") {
    const kept = {};
    for (const [key, item] of Object.entries(value)) {
      const where = path ? `${path}.${key}` : key;
      if (item && typeof item === "object" && item.omitted === "media") {
        found.push({ path: where, ...item });
        if (key === "content") kept[key] = ""; // a message keeps its place in the conversation
      } else kept[key] = placeholdersStrip(item, where, found).value;
    }
    return { value: kept, found };
  }
  return { value, found };
}

// ---- server calls -----------------------------------------------------------------------------------
async function call(url, data) {
  const response = await fetch(url, data === undefined
    ? { headers: { Accept: "application/json" }, credentials: "same-origin" }
    : { method: "POST", credentials: "same-origin", body: JSON.stringify(data),
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf() } });
  const payload = await response.json();
  if (!response.ok) throw Object.assign(new Error(payload.error?.message || response.statusText), { envelope: payload });
  return payload;
}

const base = (ns) => `/playground/prompts/${encodeURIComponent(ns)}`;

async function promptsLoad() {
  const ns = host.namespace().id;
  try {
    const listed = await call(`${base(ns)}/data`);
    if (host.namespace().id !== ns) return;
    state.prompts = listed.data;
    state.canWrite = listed.can_write;
  } catch {
    state.prompts = [];
    state.canWrite = false;
  }
  const save = $("pgp-save-open");
  save.disabled = !state.canWrite;
  save.title = state.canWrite ? "Save as a prompt version (Ctrl/⌘+S)" : "Only admins of this organization save prompts";
}

// ---- the panel: loaded prompt, variables, omitted media ----------------------------------------------
function fieldsRender(box) {
  const fields = h("div", { class: "pgp-vars" });
  for (const name of state.names) {
    const id = `pgp-var-${name}`;
    const input = h("textarea", { id, rows: 1, "data-variable": name, spellcheck: "false" });
    input.value = state.values[name] ?? "";
    input.addEventListener("input", () => { state.values[name] = input.value; input.removeAttribute("aria-invalid"); modeShow(); });
    fields.append(h("div", { class: "field" }, h("label", { for: id }, name), input));
  }
  box.append(h("fieldset", { class: "group pgp-fieldset" }, h("legend", {}, `Variables (${state.names.length})`), fields));
}

function callsPrompt(body) {
  return state.loaded && state.loaded.namespace === host.namespace().id && sameComposition(body, state.loaded);
}

function modeShow() {
  const line = $("pgp-mode");
  if (!line) return;
  const body = host.getBody();
  const missing = state.names.filter((n) => !state.values[n]);
  const parts = [];
  if (state.loaded && callsPrompt(body)) {
    parts.push(`Run calls ${state.loaded.name} v${state.loaded.version} by name with these values; its usage record names the version.`);
  } else if (state.names.length) {
    parts.push(`Run fills the values in here and sends the text${state.loaded ? " (edited since v" + state.loaded.version + ": save a version to call it by name)" : ""}.`);
  }
  if (missing.length) parts.push(`To fill: ${missing.join(", ")}.`);
  line.textContent = parts.join(" ");
}

function panelRender() {
  const box = $("pgp");
  const body = host.getBody() || {};
  const { system, messages } = compositionOf(body);
  state.names = variablesOf(system, messages);
  const loaded = state.loaded && state.loaded.namespace === host.namespace().id ? state.loaded : null;
  const wanted = JSON.stringify([loaded && [loaded.id, loaded.version], state.names, state.omitted.length,
    loaded && callsPrompt(body)]);
  $("pgp-prompts-link").href = `${base(host.namespace().id)}/`;
  if (box.dataset.shape === wanted) { modeShow(); return; } // keep the fields (and the focus) while typing
  box.dataset.shape = wanted;
  box.replaceChildren();
  box.hidden = !loaded && !state.names.length && !state.omitted.length;
  if (loaded) {
    const edited = !callsPrompt(body);
    box.append(h("div", { class: "pgp-head" },
      h("span", { class: "muted" }, "Prompt"),
      h("strong", { "data-loaded": `${loaded.name} v${loaded.version}` }, `${loaded.name} v${loaded.version}`),
      ...Object.entries(loaded.labels || {}).filter(([, v]) => v === loaded.version)
        .map(([label]) => h("span", { class: `badge${label === "production" ? " badge-ok" : ""}` }, label)),
      edited ? h("span", { class: "badge badge-warn" }, "edited") : null,
      h("a", { href: `${base(loaded.namespace)}/${encodeURIComponent(loaded.id)}/` }, "Versions and labels"),
      h("button", { type: "button", class: "btn btn-small", onclick: () => { state.loaded = null; panelRender(); } }, "Detach")));
  }
  if (state.omitted.length) {
    box.append(h("p", { class: "pgp-mode", role: "note" }, "The logged request's media were not stored: add them again to send them."),
      h("ul", { class: "pgp-omitted" }, state.omitted.map((m) => h("li", {}, h("code", {}, m.path),
        ` — media omitted (${m.bytes != null ? `${Math.round(m.bytes / 1024)} KB, ` : ""}sha256 `,
        h("code", { title: m.sha256 }, String(m.sha256 || "").slice(0, 12)), "…): not sent"))));
  }
  if (state.names.length) fieldsRender(box);
  if (loaded || state.names.length) box.append(h("p", { class: "pgp-mode muted", id: "pgp-mode", "aria-live": "polite" }));
  modeShow();
}

// ---- what Run and Get code send ---------------------------------------------------------------------
/** The body to send for ``body``: the prompt call while it is the loaded version's, else the text with the
 * values filled in. Throws (with a message) when a variable has no value. */
export function sendable(body, { forCode = false } = {}) {
  const names = variablesOf(compositionOf(body).system, compositionOf(body).messages);
  const missing = names.filter((n) => !state.values[n]);
  if (missing.length && !forCode) {
    const field = document.querySelector(`[data-variable="${CSS.escape(missing[0])}"]`);
    if (field) { field.setAttribute("aria-invalid", "true"); field.focus(); }
    throw new Error(`Fill in ${missing.map((n) => `{{${n}}}`).join(", ")} first.`);
  }
  const values = Object.fromEntries(names.map((n) => [n, state.values[n] ?? ""]));
  if (callsPrompt(body)) {
    const { provider, model, inference_name, feature_uri, inputs, parameters, ...extras } = body;
    const target = forCode && state.loaded.target ? {} : { provider, model, inference_name, feature_uri };
    return JSON.parse(JSON.stringify({ prompt: { id: forCode ? state.loaded.name : state.loaded.id,
      version: state.loaded.version, variables: values }, ...target, ...extras }));
  }
  if (!names.length || (forCode && missing.length)) return structuredClone(body);
  const sent = structuredClone(body);
  if (typeof sent.inputs.system === "string") sent.inputs.system = fill(sent.inputs.system, values);
  if (Array.isArray(sent.inputs.messages)) {
    sent.inputs.messages = sent.inputs.messages.map((m) => (typeof m.content === "string" ? { ...m, content: fill(m.content, values) } : m));
  }
  return sent;
}

// ---- load -------------------------------------------------------------------------------------------
async function versionLoad({ namespace, prompt, version, label, variables }) {
  const ns = namespace || host.namespace().id;
  const which = version ? encodeURIComponent(version) : `latest${label ? `?label=${encodeURIComponent(label)}` : ""}`;
  const found = await call(`${base(ns)}/${encodeURIComponent(prompt)}/versions/${which}`);
  const v = found.version;
  state.loaded = { namespace: ns, id: found.id, name: found.name, version: v.version, labels: found.labels,
    target: v.target, composition: { system: v.system, messages: v.messages, target: v.target, parameters: v.parameters } };
  if (variables && typeof variables === "object") {
    for (const [name, value] of Object.entries(variables)) state.values[name] = typeof value === "string" ? value : JSON.stringify(value);
  }
  host.bodyLoad(bodyOfVersion(v, host.getBody()));
  host.runState(`Loaded ${found.name} v${v.version}${v.variables.length ? ": fill in its variables and press Run." : "."}`);
}

/** Open a body from history, a shared link or a logged request: a prompt call loads its version; media
 * placeholders are listed and left out. Resolves true when it handled the body itself. */
export async function open(body) {
  state.omitted = [];
  if (body && body.prompt && typeof body.prompt === "object" && typeof body.prompt.id === "string") {
    try {
      await versionLoad({ prompt: body.prompt.id, version: body.prompt.version, label: body.prompt.label,
        variables: body.prompt.variables });
    } catch (e) {
      host.runState(`Could not load prompt ${body.prompt.id}: ${e.message}`);
    }
    return true;
  }
  const { value, found } = placeholdersStrip(body);
  if (!found.length) return false;
  state.omitted = found;
  host.bodyLoad(value);
  return true;
}

// ---- save -------------------------------------------------------------------------------------------
function saveMode(mode) {
  for (const input of document.querySelectorAll('input[name="pgp-save-mode"]')) input.checked = input.value === mode;
  $("pgp-save-new").hidden = mode !== "new";
  $("pgp-save-existing").hidden = mode !== "version";
}

async function saveOpen() {
  if (!state.canWrite) { host.runState("Only admins of this organization save prompts."); return; }
  if (!host.jsonCommit()) return;
  await promptsLoad();
  const select = $("pgp-save-prompt");
  select.replaceChildren(...state.prompts.map((p) => h("option", { value: p.id }, `${p.name} (v${p.latest_version})`)));
  const loaded = state.loaded && state.loaded.namespace === host.namespace().id
    && state.prompts.find((p) => p.id === state.loaded.id);
  if (loaded) select.value = loaded.id;
  $("pgp-save-existing-option").disabled = !state.prompts.length;
  $("pgp-save-errors").replaceChildren();
  $("pgp-save-state").textContent = "";
  $("pgp-save-note").value = "";
  saveMode(loaded ? "version" : "new");
  $("pgp-save").showModal();
  (loaded ? $("pgp-save-note") : $("pgp-save-name")).focus();
}

async function saveSubmit() {
  const body = host.getBody();
  const { system, messages, target, parameters } = compositionOf(body);
  const version = { system, messages, target, parameters, note: $("pgp-save-note").value };
  const mode = document.querySelector('input[name="pgp-save-mode"]:checked').value;
  const ns = host.namespace().id;
  const button = $("pgp-save-submit");
  button.disabled = true;
  $("pgp-save-state").textContent = "Saving…";
  try {
    const saved = mode === "new"
      ? await call(`${base(ns)}/data`, { name: $("pgp-save-name").value.trim(), ...version })
      : await call(`${base(ns)}/${encodeURIComponent($("pgp-save-prompt").value)}/versions`, version);
    const v = saved.version;
    state.loaded = { namespace: ns, id: saved.id, name: saved.name, version: v.version, labels: saved.labels,
      target: v.target, composition: { system: v.system, messages: v.messages, target: v.target, parameters: v.parameters } };
    $("pgp-save").close();
    host.runState(`Saved ${saved.name} v${v.version}.`);
    panelRender();
    promptsLoad();
  } catch (e) {
    const problems = e.envelope?.error?.details?.errors || [{ field: null, problem: e.message }];
    $("pgp-save-errors").replaceChildren(...problems.map((p) => h("li", {}, p.field ? `${p.field}: ${p.problem}` : p.problem)));
    $("pgp-save-state").textContent = "Not saved.";
  } finally {
    button.disabled = false;
  }
}

// ---- wiring -----------------------------------------------------------------------------------------
/** Called by app.js after every change of the body (form, JSON, target, namespace, history). */
export function changed() {
  if (host) panelRender();
}

export function namespaceChanged() {
  if (!host) return;
  if (state.loaded && state.loaded.namespace !== host.namespace().id) state.loaded = null;
  state.omitted = [];
  promptsLoad();
  panelRender();
}

/** ``api``: {getBody, bodyLoad(body), namespace(), runState(text), jsonCommit()}. */
export async function attach(api, { params, shared, omitted = [] }) {
  host = api;
  $("pgp-save-open").addEventListener("click", saveOpen);
  $("pgp-save-submit").addEventListener("click", saveSubmit);
  for (const input of document.querySelectorAll('input[name="pgp-save-mode"]')) input.addEventListener("change", () => saveMode(input.value));
  $("pgp-save").addEventListener("keydown", (e) => {
    if (e.key === "Enter" && e.target.tagName === "INPUT" && e.target.type !== "radio") { e.preventDefault(); saveSubmit(); }
  });
  document.addEventListener("keydown", (e) => {
    if (e.key.toLowerCase() === "s" && (e.ctrlKey || e.metaKey) && !e.shiftKey && !e.altKey) {
      e.preventDefault();
      if ($("pgp-save").open) saveSubmit();
      else if (!document.querySelector("dialog[open]")) saveOpen();
    }
  });
  await promptsLoad();
  if (params.get("prompt")) {
    try {
      await versionLoad({ prompt: params.get("prompt"), version: params.get("version"), label: params.get("label") });
    } catch (e) {
      host.runState(`Could not load the prompt: ${e.message}`);
    }
  } else if (shared && shared.body && shared.body.prompt) {
    await open(shared.body);
  }
  state.omitted = omitted;
  panelRender();
}
