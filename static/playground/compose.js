// The request form: inputs that follow the target's modality, its declared parameters and the semantic cache.
// The body object is the one source of truth: controls write into it and call onChange(); the form is
// rebuilt from the body when its structure changes (target, JSON edits, added or removed rows).
import { MEDIA, isChat } from "./body.js";
import { h } from "./render.js";

let uid = 0;
const nextId = (prefix) => `${prefix}-${++uid}`;

function labelled(labelText, control, hint) {
  const id = control.id || (control.id = nextId("pg-f"));
  const hintId = hint ? `${id}-hint` : null;
  if (hintId) control.setAttribute("aria-describedby", hintId);
  return h("div", { class: "field" }, h("label", { for: id }, labelText), control,
    hint ? h("p", { class: "hint muted", id: hintId }, hint) : null);
}

/** Render the form for ``body`` (addressing ``item``) into ``root``. ``onChange(structural)`` is called
 * after each edit; structural edits want the form rebuilt. */
export function formRender(root, { body, item, onChange }) {
  const focusedKey = document.activeElement && root.contains(document.activeElement)
    ? document.activeElement.dataset.key : null;
  root.replaceChildren();
  if (!item) {
    root.append(h("p", { class: "muted" }, "This body names no target of the catalog; edit it in the JSON tab."));
    return;
  }
  body.inputs = body.inputs && typeof body.inputs === "object" ? body.inputs : {};
  const keys = new Set(item.input_keys || []);
  const changed = (structural = false) => onChange(structural);
  const inputs = h("fieldset", { class: "group" }, h("legend", {}, "Inputs"));
  if (isChat(item)) inputs.append(chatInputs(body.inputs, keys, changed));
  else if (keys.has("text") || keys.has("texts")) inputs.append(textInputs(body.inputs, keys, changed));
  for (const [kind, spec] of Object.entries(MEDIA)) {
    if (keys.has(spec.url) || keys.has(spec.base64)) inputs.append(mediaInput(kind, spec, body.inputs, keys, changed));
  }
  if (!inputs.querySelector(".field, .media")) inputs.append(h("p", { class: "muted" }, "This target reads no inputs the form knows; use the JSON tab."));
  root.append(inputs);
  if ((item.parameters || []).length) root.append(parameterInputs(body, item.parameters, changed));
  if (isChat(item)) root.append(cacheInputs(body, changed));
  if (focusedKey) {
    const again = root.querySelector(`[data-key="${CSS.escape(focusedKey)}"]`);
    if (again) again.focus();
  }
}

// ---- chat ------------------------------------------------------------------------------------------
function chatInputs(inputs, keys, changed) {
  const box = h("div", { class: "chat" });
  const modes = ["messages", "prompts"].filter((k) => keys.has(k));
  const mode = "prompts" in inputs && keys.has("prompts") ? "prompts" : "messages";
  if (modes.length > 1) {
    const name = nextId("pg-mode");
    box.append(h("div", { class: "segmented", role: "radiogroup", "aria-label": "Chat input" },
      modes.map((m) => h("label", { class: "segment" },
        h("input", { type: "radio", name, value: m, checked: m === mode, "data-key": `mode-${m}`,
          onchange: () => {
            if (m === "prompts") {
              inputs.prompts = (inputs.messages || []).filter((x) => x.role === "user").map((x) => x.content);
              if (!inputs.prompts.length) inputs.prompts = [""];
              delete inputs.messages;
            } else {
              inputs.messages = (inputs.prompts || [""]).slice(0, 1).map((content) => ({ role: "user", content }));
              delete inputs.prompts;
            }
            changed(true);
          } }),
        m === "messages" ? "Conversation" : "Prompt batch"))));
  }
  if (keys.has("system")) {
    const system = h("textarea", { rows: 2, "data-key": "system", placeholder: "You are a helpful assistant." });
    system.value = typeof inputs.system === "string" ? inputs.system : "";
    system.addEventListener("input", () => {
      if (system.value) inputs.system = system.value; else delete inputs.system;
      changed();
    });
    box.append(labelled("System prompt", system));
  }
  if (mode === "messages") box.append(messageList(inputs, changed));
  else box.append(promptList(inputs, changed));
  return box;
}

function messageList(inputs, changed) {
  if (!Array.isArray(inputs.messages)) inputs.messages = [{ role: "user", content: "" }];
  const list = h("ol", { class: "messages", "aria-label": "Messages" });
  inputs.messages.forEach((message, i) => {
    const role = h("select", { "aria-label": `Role of message ${i + 1}`, "data-key": `role-${i}`, class: "role" },
      ["user", "assistant", "system"].map((r) => h("option", { value: r, selected: message.role === r }, r)));
    role.addEventListener("change", () => { message.role = role.value; changed(); });
    const content = h("textarea", { rows: i === inputs.messages.length - 1 ? 4 : 2, "aria-label": `Message ${i + 1}`,
      "data-key": `message-${i}`, placeholder: message.role === "user" ? "Ask something…" : "" });
    content.value = typeof message.content === "string" ? message.content : "";
    content.addEventListener("input", () => { message.content = content.value; changed(); });
    const remove = h("button", { type: "button", class: "btn btn-small btn-icon", "aria-label": `Remove message ${i + 1}`,
      disabled: inputs.messages.length === 1, onclick: () => { inputs.messages.splice(i, 1); changed(true); } }, "✕");
    list.append(h("li", { class: `message message-${message.role}` }, h("div", { class: "message-side" }, role, remove), content));
  });
  const add = h("button", { type: "button", class: "btn btn-small", "data-key": "add-message", onclick: () => {
    const last = inputs.messages[inputs.messages.length - 1];
    inputs.messages.push({ role: last && last.role === "user" ? "assistant" : "user", content: "" });
    changed(true);
  } }, "+ Add message");
  return h("div", { class: "field" }, h("span", { class: "field-label" }, "Messages"), list, add);
}

function rowList(values, { label, key, rows, onChange, addLabel }) {
  const list = h("ol", { class: "rows", "aria-label": `${label}s` });
  values.forEach((value, i) => {
    const text = h("textarea", { rows, "aria-label": `${label} ${i + 1}`, "data-key": `${key}-${i}` });
    text.value = typeof value === "string" ? value : "";
    text.addEventListener("input", () => { values[i] = text.value; onChange(false); });
    const remove = h("button", { type: "button", class: "btn btn-small btn-icon", "aria-label": `Remove ${label.toLowerCase()} ${i + 1}`,
      disabled: values.length === 1, onclick: () => { values.splice(i, 1); onChange(true); } }, "✕");
    list.append(h("li", { class: "row" }, text, remove));
  });
  const add = h("button", { type: "button", class: "btn btn-small", "data-key": `add-${key}`,
    onclick: () => { values.push(""); onChange(true); } }, addLabel);
  return h("div", { class: "field" }, h("span", { class: "field-label" }, `${label}s`), list, add);
}

function promptList(inputs, changed) {
  if (!Array.isArray(inputs.prompts)) inputs.prompts = [""];
  return rowList(inputs.prompts, { label: "Prompt", key: "prompt", rows: 2, onChange: changed,
    addLabel: "+ Add prompt" });
}

// ---- texts to embed ---------------------------------------------------------------------------------
function textInputs(inputs, keys, changed) {
  if (!keys.has("texts")) {
    const text = h("textarea", { rows: 3, "data-key": "text" });
    text.value = typeof inputs.text === "string" ? inputs.text : "";
    text.addEventListener("input", () => {
      if (text.value) inputs.text = text.value; else delete inputs.text;
      changed();
    });
    return labelled("Text", text, "Give one input: a text, an image or a video.");
  }
  const values = Array.isArray(inputs.texts) ? [...inputs.texts] : [typeof inputs.text === "string" ? inputs.text : ""];
  const write = (structural) => {
    if (values.length > 1 || Array.isArray(inputs.texts)) { inputs.texts = [...values]; delete inputs.text; }
    else { inputs.text = values[0]; delete inputs.texts; }
    changed(structural);
  };
  return rowList(values, { label: "Text", key: "text", rows: 2, onChange: write, addLabel: "+ Add text" });
}

// ---- media -----------------------------------------------------------------------------------------
const TITLES = { image: "Image", audio: "Audio", video: "Video" };

function readAsDataUrl(file) {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(reader.result);
    reader.onerror = () => reject(reader.error);
    reader.readAsDataURL(file);
  });
}

function mediaPreview(kind, src) {
  if (!src) return null;
  if (kind === "image") return h("img", { src, alt: "Preview of the image input", class: "preview" });
  return h(kind, { src, controls: true, class: "preview", "aria-label": `${TITLES[kind]} input player` });
}

function mediaInput(kind, spec, inputs, keys, changed) {
  const current = inputs[spec.base64] || inputs[spec.url] || "";
  const fileId = nextId(`pg-${kind}-file`);
  const file = h("input", { type: "file", accept: spec.accept, id: fileId, class: "visually-hidden", "data-key": `${kind}-file` });
  const setFile = async (picked) => {
    if (!picked) return;
    inputs[spec.base64] = await readAsDataUrl(picked);
    delete inputs[spec.url];
    changed(true);
  };
  file.addEventListener("change", () => setFile(file.files[0]));
  const drop = h("label", { for: fileId, class: "dropzone", "data-kind": kind },
    h("strong", {}, kind === "image" ? "Drop, paste or choose an image" : `Drop or choose ${kind === "audio" ? "an audio" : "a video"} file`),
    h("span", { class: "muted" }, spec.accept.replace("/*", " files")));
  drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (e) => { e.preventDefault(); drop.classList.remove("over"); setFile(e.dataTransfer.files[0]); });
  if (kind === "image") drop.dataset.paste = "image";
  const url = h("input", { type: "url", placeholder: "https://…", "data-key": `${kind}-url` });
  url.value = inputs[spec.url] || "";
  url.addEventListener("change", () => {
    if (url.value) { inputs[spec.url] = url.value; delete inputs[spec.base64]; } else delete inputs[spec.url];
    changed(true);
  });
  const clear = current ? h("button", { type: "button", class: "btn btn-small", onclick: () => {
    delete inputs[spec.url]; delete inputs[spec.base64]; changed(true);
  } }, `Clear ${kind}`) : null;
  const bytes = inputs[spec.base64] ? Math.round(inputs[spec.base64].length * 0.75) : 0;
  const info = inputs[spec.base64] ? h("p", { class: "muted hint" },
    `Inline ${kind}, ${bytes < 1024 ? `${bytes} bytes` : `${Math.round(bytes / 1024)} KB`} as ${spec.base64}`) : null;
  return h("fieldset", { class: "media", "data-media": kind }, h("legend", {}, TITLES[kind]),
    file, drop, labelled(`${TITLES[kind]} URL`, url), h("div", { class: "preview-box" }, mediaPreview(kind, current), info, clear));
}

// ---- parameters ------------------------------------------------------------------------------------
function parameterInputs(body, declared, changed) {
  const params = () => (body.parameters = body.parameters && typeof body.parameters === "object" ? body.parameters : {});
  const set = (name, value) => {
    const p = params();
    if (value === undefined) delete p[name]; else p[name] = value;
    if (!Object.keys(p).length) delete body.parameters;
    changed();
  };
  const box = h("fieldset", { class: "group params" }, h("legend", {}, "Parameters"));
  const grid = h("div", { class: "param-grid" });
  for (const spec of declared) grid.append(parameterControl(spec, (body.parameters || {})[spec.name], set));
  box.append(grid);
  return box;
}

function limitsHint(spec) {
  const bits = [];
  if (spec.minimum !== undefined && spec.maximum !== undefined) bits.push(`${spec.minimum}–${spec.maximum}`);
  if (spec.default !== undefined) bits.push(`default ${spec.default}`);
  return bits.join(" · ");
}

function parameterControl(spec, value, set) {
  const title = spec.name.replace(/_/g, " ");
  const key = `param-${spec.name}`;
  if (spec.kind === "number" || spec.kind === "integer") {
    const number = h("input", { type: "number", "data-key": key, min: spec.minimum, max: spec.maximum,
      step: spec.kind === "integer" ? 1 : (spec.maximum <= 2 ? 0.05 : "any"), placeholder: spec.default ?? "" });
    number.value = value ?? "";
    const ranged = spec.kind === "number" && spec.minimum !== undefined && spec.maximum !== undefined && spec.maximum <= 2;
    const range = ranged ? h("input", { type: "range", min: spec.minimum, max: spec.maximum, step: 0.05,
      "aria-label": `${title} slider`, "data-key": `${key}-range` }) : null;
    if (range) range.value = value ?? spec.default ?? spec.minimum;
    number.addEventListener("input", () => {
      if (number.value === "") return set(spec.name, undefined);
      const parsed = spec.kind === "integer" ? parseInt(number.value, 10) : parseFloat(number.value);
      if (!Number.isNaN(parsed)) { set(spec.name, parsed); if (range) range.value = parsed; }
    });
    if (range) range.addEventListener("input", () => { number.value = range.value; set(spec.name, parseFloat(range.value)); });
    const field = labelled(title, number, [spec.description, limitsHint(spec)].filter(Boolean).join(" "));
    if (range) field.insertBefore(range, field.querySelector(".hint"));
    field.classList.add(`param-${spec.kind}`);
    return field;
  }
  if (spec.kind === "stop") {
    const stop = h("input", { type: "text", "data-key": key, placeholder: "e.g. ###  (several: separate with |)" });
    stop.value = Array.isArray(value) ? value.join("|") : value ?? "";
    stop.addEventListener("input", () => {
      const parts = stop.value.split("|").filter((s) => s !== "");
      set(spec.name, !parts.length ? undefined : parts.length === 1 ? parts[0] : parts);
    });
    return labelled(title, stop, spec.description);
  }
  if (spec.kind === "tool_choice") {  // "auto", "none", "required", or {"name": ...} written as JSON
    const choice = h("input", { type: "text", "data-key": key, placeholder: 'auto · none · required · {"name": "get_weather"}' });
    choice.value = value === undefined ? "" : typeof value === "string" ? value : JSON.stringify(value);
    choice.addEventListener("input", () => {
      const text = choice.value.trim();
      if (!text) return set(spec.name, undefined);
      try { set(spec.name, text.startsWith("{") ? JSON.parse(text) : text); } catch { /* not JSON yet */ }
    });
    return labelled(title, choice, spec.description);
  }
  if (spec.kind === "object" || spec.kind === "tools") {
    const editor = h("textarea", { rows: 6, "data-key": key, spellcheck: "false",
      placeholder: spec.kind === "tools"
        ? '[{"name": "get_weather", "description": "The weather in a city", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}]'
        : '{"type": "object", "properties": {"answer": {"type": "string"}}}' });
    editor.value = value === undefined ? "" : JSON.stringify(value, null, 2);
    const status = h("p", { class: "hint", "aria-live": "polite" });
    editor.addEventListener("input", () => {
      if (!editor.value.trim()) { status.textContent = ""; return set(spec.name, undefined); }
      try {
        const parsed = JSON.parse(editor.value);
        status.textContent = ""; editor.removeAttribute("aria-invalid");
        set(spec.name, parsed);
      } catch (e) {
        status.textContent = `Not JSON yet: ${e.message}`; editor.setAttribute("aria-invalid", "true");
      }
    });
    const field = labelled(spec.name === "schema" ? "Schema (structured output)" : title, editor, spec.description);
    field.classList.add("param-wide");
    field.append(status);
    return field;
  }
  const text = h("input", { type: "text", "data-key": key, placeholder: spec.default ?? "" });
  text.value = value ?? "";
  text.addEventListener("input", () => set(spec.name, text.value || undefined));
  return labelled(title, text, spec.description);
}

// ---- semantic cache --------------------------------------------------------------------------------
function cacheInputs(body, changed) {
  const toggle = h("input", { type: "checkbox", "data-key": "cache", id: nextId("pg-cache") });
  toggle.checked = body.enable_semantic_cache === true;
  const delta = h("input", { type: "range", min: 0, max: 0.2, step: 0.005, "data-key": "cache-delta",
    "aria-label": "cache_delta: the largest error rate the cache may cause", disabled: !toggle.checked });
  const shown = h("output", { class: "delta-value" });
  const current = typeof body.cache_delta === "number" ? body.cache_delta : 0.02;
  delta.value = current;
  shown.textContent = current.toFixed(3);
  toggle.addEventListener("change", () => {
    if (toggle.checked) body.enable_semantic_cache = true; else { delete body.enable_semantic_cache; delete body.cache_delta; }
    delta.disabled = !toggle.checked;
    changed();
  });
  delta.addEventListener("input", () => {
    body.cache_delta = parseFloat(delta.value);
    shown.textContent = body.cache_delta.toFixed(3);
    changed();
  });
  return h("fieldset", { class: "group cache" }, h("legend", {}, "Semantic cache"),
    h("label", { class: "check", for: toggle.id }, toggle, " May answer from the cache (",
      h("code", {}, "enable_semantic_cache"), ")"),
    h("div", { class: "delta" }, h("span", { class: "muted" }, "cache_delta"), delta, shown),
    h("p", { class: "hint muted" }, "The largest error rate the cache may cause: lower is stricter (fewer hits)."));
}
