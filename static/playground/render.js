// The response panel: a response envelope (or an error envelope) rendered by modality.
import { costOf, formatCost, norm } from "./body.js";

/** Build an element: h("div", {class: "x", onclick: fn}, child, "text", ...). */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on")) el.addEventListener(name.slice(2), value);
    else if (name === "class") el.className = value;
    else if (name === "text") el.textContent = value;
    else el.setAttribute(name, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

/** A collapsible tree of any JSON value (structured output, plugin answers). */
export function jsonTree(value, key = null, depth = 0) {
  const label = key === null ? null : h("span", { class: "tree-key" }, `${key}: `);
  if (value !== null && typeof value === "object") {
    const entries = Array.isArray(value) ? value.map((v, i) => [i, v]) : Object.entries(value);
    const summary = Array.isArray(value) ? `[${entries.length}]` : `{${entries.length}}`;
    return h("details", { class: "tree", open: depth < 2 },
      h("summary", {}, label, h("span", { class: "tree-meta" }, summary)),
      h("div", { class: "tree-children" }, entries.map(([k, v]) => jsonTree(v, k, depth + 1))));
  }
  const kind = value === null ? "null" : typeof value;
  return h("div", { class: "tree-leaf" }, label, h("span", { class: `tree-${kind}` }, JSON.stringify(value)));
}

export function sparkline(vector, width = 320, height = 48) {
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  svg.setAttribute("class", "sparkline");
  svg.setAttribute("preserveAspectRatio", "none");
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", `Sparkline of ${vector.length} values`);
  const max = Math.max(...vector.map(Math.abs), 1e-12);
  const step = width / Math.max(vector.length - 1, 1);
  const points = vector.map((x, i) => `${(i * step).toFixed(1)},${(height / 2 - (x / max) * (height / 2 - 2)).toFixed(1)}`);
  const axis = document.createElementNS(ns, "line");
  Object.entries({ x1: 0, x2: width, y1: height / 2, y2: height / 2, class: "sparkline-axis" })
    .forEach(([k, v]) => axis.setAttribute(k, v));
  const line = document.createElementNS(ns, "polyline");
  line.setAttribute("points", points.join(" "));
  svg.append(axis, line);
  return svg;
}

function copyButton(label, text) {
  const button = h("button", { type: "button", class: "btn btn-small" }, label);
  button.addEventListener("click", async () => {
    await navigator.clipboard.writeText(text()).catch(() => {});
    button.textContent = "Copied";
    setTimeout(() => { button.textContent = label; }, 1200);
  });
  return button;
}

function vectorView(vector, title) {
  return h("div", { class: "vector" },
    h("div", { class: "vector-head" }, h("strong", {}, title),
      h("span", { class: "badge" }, `${vector.length} dimensions`),
      h("span", { class: "muted vector-norm" }, `norm ${norm(vector).toFixed(4)}`),
      copyButton("Copy vector", () => JSON.stringify(vector))),
    sparkline(vector),
    h("code", { class: "vector-head-values muted" },
      `[${vector.slice(0, 6).map((x) => x.toFixed(4)).join(", ")}${vector.length > 6 ? ", …" : ""}]`));
}

function seconds(s) {
  const m = Math.floor(s / 60);
  return `${m}:${(s - m * 60).toFixed(2).padStart(5, "0")}`;
}

/** The data part of a response, by shape. */
export function dataView(data) {
  if (data && Array.isArray(data.responses)) {
    return h("div", { class: "answers" }, data.responses.map((r, i) => answerView(r, i, data.responses.length)));
  }
  if (data && Array.isArray(data.embeddings)) {
    return h("div", {}, data.embeddings.map((v, i) => vectorView(v, `Text ${i + 1}`)));
  }
  if (data && Array.isArray(data.embedding)) return vectorView(data.embedding, "Embedding");
  if (data && Array.isArray(data.segments) && data.segments.length && Array.isArray(data.segments[0].embedding)) {
    return h("div", {}, data.segments.map((s) => vectorView(s.embedding, `${seconds(s.start_s)}–${seconds(s.end_s)}`)));
  }
  if (data && typeof data.text === "string" && Array.isArray(data.segments)) return transcriptView(data);
  return h("div", { class: "tree-root" }, jsonTree(data));
}

/** One chat answer: its text (live-updated while streaming) and finish reason; structured as a tree. */
export function answerView(response, index, count) {
  const box = h("div", { class: "answer", "data-index": index },
    count > 1 ? h("div", { class: "answer-label muted" }, `Prompt ${index + 1}`) : null,
    h("div", { class: "answer-text" }, response.text || ""));
  if (response.finish_reason) box.append(h("div", { class: "answer-finish" },
    h("span", { class: "muted" }, "finish reason "), h("span", { class: "badge", "data-finish": "" }, response.finish_reason)));
  if (response.structured !== undefined) {
    box.append(h("div", { class: "structured" }, h("h3", {}, "Structured output"), jsonTree(response.structured)));
  }
  if (response.tool_calls?.length) {
    box.append(h("div", { class: "tool-calls" }, h("h3", {}, "Tool calls"),
      h("ul", {}, response.tool_calls.map((call) => h("li", {},
        h("code", {}, `${call.name}(${call.arguments})`), " ", h("span", { class: "muted small" }, call.id))))));
  }
  return box;
}

function transcriptView(data) {
  return h("div", { class: "transcript" },
    h("p", { class: "transcript-text" }, data.text),
    h("p", { class: "muted" }, [data.language && `language ${data.language}`,
      data.duration_s !== undefined && `duration ${Number(data.duration_s).toFixed(2)} s`].filter(Boolean).join(" · ")),
    h("table", { class: "segments" },
      h("caption", { class: "visually-hidden" }, "Timed segments"),
      h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Start"), h("th", { scope: "col" }, "End"), h("th", { scope: "col" }, "Text"))),
      h("tbody", {}, data.segments.map((s) => h("tr", {},
        h("td", { class: "num" }, seconds(s.start_s)), h("td", { class: "num" }, seconds(s.end_s)), h("td", {}, s.text))))));
}

/** Latency, tokens, cost, cached, and which target answered. */
export function metricsView(response, item) {
  const t = response.tokens_used || {};
  const metric = (name, value, extra = {}) => h("div", { class: "metric", ...extra },
    h("span", { class: "metric-name" }, name), h("span", { class: "metric-value" }, value));
  return h("div", { class: "metrics", "aria-label": "Run metrics" },
    metric("Latency", `${Math.round(response.latency_ms)} ms`, { "data-metric": "latency" }),
    metric("Tokens", `${t.total ?? 0}`, { "data-metric": "tokens", title: `prompt ${t.prompt ?? 0} · completion ${t.completion ?? 0}` }),
    metric("Cost", formatCost(costOf(response, item)), { "data-metric": "cost", title: "tokens × the catalog's price" }),
    metric("Cache", h("span", { class: `badge ${response.cached ? "badge-ok" : ""}`, "data-metric": "cached" },
      response.cached ? "cached" : "not cached")),
    metric("Answered by", `${response.provider}/${response.model}`, { "data-metric": "target" }));
}

/** An error envelope: its type, status, message and details. */
export function errorView(envelope) {
  const error = (envelope && envelope.error) || { type: "Error", message: "Unknown error" };
  const details = error.details && Array.isArray(error.details.errors) ? error.details.errors : error.details;
  let detailView = null;
  if (Array.isArray(details)) {
    detailView = h("ul", { class: "error-details" }, details.map((d) =>
      h("li", {}, d.field ? h("code", {}, d.field) : null, d.field ? " " : null, d.problem || JSON.stringify(d))));
  } else if (details && typeof details === "object") {
    detailView = h("div", { class: "tree-root" }, jsonTree(details, "details"));
  }
  return h("div", { class: "error-box", role: "alert" },
    h("div", { class: "error-head" }, h("span", { class: "badge badge-err", "data-error-type": "" }, error.type),
      envelope && envelope.status ? h("span", { class: "muted" }, `HTTP ${envelope.status}`) : null),
    h("p", { class: "error-message" }, error.message), detailView);
}

/** A finished response: data, then metrics, then the raw JSON. */
export function responseView(response, item) {
  return h("div", { class: "response" }, dataView(response.data), metricsView(response, item),
    h("details", { class: "raw" }, h("summary", {}, "Raw response"),
      h("pre", {}, JSON.stringify(response, (k, v) => (Array.isArray(v) && v.length > 24 && typeof v[0] === "number"
        ? [...v.slice(0, 24).map((x) => +x.toFixed(6)), `… ${v.length - 24} more`] : v), 2))));
}
