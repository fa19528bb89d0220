// Pure functions over request bodies and catalog items: which target a body names, the inputs a target
// reads, share links, cost and vector figures, and the code samples of "Get code". No DOM here.

export const CHAT_KEYS = ["messages", "prompts", "system"];
export const MEDIA = {
  image: { url: "image_url", base64: "image_base64", accept: "image/*" },
  audio: { url: "audio_url", base64: "audio_base64", accept: "audio/*" },
  video: { url: "video_url", base64: "video_base64", accept: "video/*" },
};

/** The catalog id a body addresses: "provider/model", "plugin/<name>" or the feature URI (null: none). */
export function targetId(body) {
  if (!body || typeof body !== "object") return null;
  if (typeof body.feature_uri === "string") return body.feature_uri;
  if (typeof body.inference_name === "string") return `plugin/${body.inference_name}`;
  if (typeof body.provider === "string" && typeof body.model === "string") return `${body.provider}/${body.model}`;
  return null;
}

/** The target keys of a body for a catalog item. */
export function targetFields(item) {
  if (item.kind === "feature_uri") return { feature_uri: item.feature_uri };
  if (item.kind === "plugin") return { inference_name: item.inference_name || item.model };
  return { provider: item.provider, model: item.model };
}

export function isChat(item) {
  return !!item && (item.input_keys || []).some((k) => k === "messages" || k === "prompts");
}

/** Whether an item can be called now, and if not, why. */
export function availability(item, namespace) {
  if (item.kind === "feature_uri") {
    if (!item.installed) return { ok: false, reason: "its plugin is not installed" };
    if (!item.enabled) return { ok: false, reason: `plugin not enabled in ${namespace}` };
    return { ok: true };
  }
  if (item.kind === "plugin") {
    return item.configured ? { ok: true } : { ok: false, reason: `plugin not enabled in ${namespace}` };
  }
  return item.configured ? { ok: true }
    : { ok: false, reason: `no ${item.provider} credentials in ${namespace}` };
}

/** Starting inputs for a target, keeping what the previous inputs had that this target also reads. */
export function inputsFor(item, previous = {}) {
  const keys = new Set(item.input_keys || []);
  const kept = {};
  for (const [key, value] of Object.entries(previous || {})) if (keys.has(key)) kept[key] = value;
  if (keys.has("messages") && !("messages" in kept) && !("prompts" in kept)) {
    const text = typeof previous.text === "string" ? previous.text
      : Array.isArray(previous.prompts) ? previous.prompts[0] : "";
    kept.messages = [{ role: "user", content: text || "" }];
  }
  if (keys.has("texts") && !("text" in kept) && !("texts" in kept)) {
    const first = messageText(previous);
    kept.text = first;
  } else if (keys.has("text") && !keys.has("texts") && !hasAnyMedia(kept) && !("text" in kept)) {
    kept.text = messageText(previous);
  }
  return kept;
}

function messageText(inputs) {
  if (Array.isArray(inputs.messages)) {
    const last = [...inputs.messages].reverse().find((m) => m && m.role === "user");
    if (last && typeof last.content === "string") return last.content;
  }
  if (Array.isArray(inputs.prompts) && typeof inputs.prompts[0] === "string") return inputs.prompts[0];
  return "";
}

function hasAnyMedia(inputs) {
  return Object.values(MEDIA).some((m) => m.url in inputs || m.base64 in inputs);
}

/** A fresh body for a target (defaults for nothing: parameters are sent only when set). */
export function bodyFor(item, previous = {}) {
  const body = { ...targetFields(item), inputs: inputsFor(item, previous.inputs || {}) };
  const params = {};
  const declared = new Set((item.parameters || []).map((p) => p.name));
  for (const [name, value] of Object.entries(previous.parameters || {})) if (declared.has(name)) params[name] = value;
  if (Object.keys(params).length) body.parameters = params;
  if (isChat(item)) {
    if (previous.enable_semantic_cache !== undefined) body.enable_semantic_cache = previous.enable_semantic_cache;
    if (previous.cache_delta !== undefined) body.cache_delta = previous.cache_delta;
  }
  return body;
}

/** Cost in USD from the catalog's price per million tokens (what usage records are charged); 0 when cached. */
export function costOf(response, item) {
  if (!response || response.cached || !item || !item.price) return 0;
  const t = response.tokens_used || {};
  return ((t.prompt || 0) * (item.price.prompt_per_million || 0)
    + (t.completion || 0) * (item.price.completion_per_million || 0)) / 1e6;
}

export function formatCost(usd) {
  if (usd === null) return "unknown";  // no price table knows the model
  if (!usd) return "$0";
  if (usd < 0.0001) return `$${usd.toExponential(2)}`;
  return `$${usd.toFixed(usd < 0.01 ? 6 : 4)}`;
}

export function norm(vector) {
  return Math.sqrt(vector.reduce((sum, x) => sum + x * x, 0));
}

// Share links: the body (and the namespace's name) as base64url JSON in the fragment, which browsers never
// send to a server. A body holds no key, so neither does the link.
export function shareEncode(body, namespace) {
  const json = JSON.stringify({ namespace, body });
  const bytes = new TextEncoder().encode(json);
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

export function shareDecode(token) {
  const padded = token.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((token.length + 3) % 4);
  const binary = atob(padded);
  const bytes = Uint8Array.from(binary, (c) => c.charCodeAt(0));
  const value = JSON.parse(new TextDecoder().decode(bytes));
  if (!value || typeof value !== "object" || typeof value.body !== "object") throw new Error("not a shared request");
  return value;
}

// ---- Get code ----------------------------------------------------------------------------------------
const KEY_ENV = "INFERGATE_API_KEY";

function shellQuote(text) {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

function pyLiteral(value, indent = 0) {
  const pad = "    ".repeat(indent + 1);
  const end = "    ".repeat(indent);
  if (value === null) return "None";
  if (value === true) return "True";
  if (value === false) return "False";
  if (typeof value === "number" || typeof value === "string") return JSON.stringify(value);
  if (Array.isArray(value)) {
    if (!value.length) return "[]";
    return `[\n${value.map((v) => pad + pyLiteral(v, indent + 1)).join(",\n")},\n${end}]`;
  }
  const entries = Object.entries(value);
  if (!entries.length) return "{}";
  return `{\n${entries.map(([k, v]) => `${pad}${JSON.stringify(k)}: ${pyLiteral(v, indent + 1)}`).join(",\n")},\n${end}}`;
}

export function codeCurl(body, { origin, namespace }) {
  return [`curl -sS ${origin}/v1/inference \\`,
    `  -H "Authorization: Bearer $${KEY_ENV}" \\`,
    `  -H ${shellQuote(`X-Namespace: ${namespace}`)} \\`,
    `  -H "Content-Type: application/json" \\`,
    `  -d ${shellQuote(JSON.stringify(body))}`].join("\n");
}

export function codePython(body, { origin, namespace }) {
  return `import os

import requests

response = requests.post(
    "${origin}/v1/inference",
    headers={
        "Authorization": f"Bearer {os.environ['${KEY_ENV}']}",
        "X-Namespace": ${JSON.stringify(namespace)},
    },
    json=${pyLiteral(body, 1)},
    timeout=120,
)
response.raise_for_status()
print(response.json()["data"])
`;
}

export function codeFetch(body, { origin, namespace }) {
  return `const response = await fetch("${origin}/v1/inference", {
  method: "POST",
  headers: {
    "Authorization": \`Bearer \${process.env.${KEY_ENV}}\`,
    "X-Namespace": ${JSON.stringify(namespace)},
    "Content-Type": "application/json",
  },
  body: JSON.stringify(${JSON.stringify(body, null, 2).replace(/\n/g, "\n  ")}),
});
const answer = await response.json();
if (!response.ok) throw new Error(\`\${answer.error.type}: \${answer.error.message}\`);
console.log(answer.data);
`;
}

/** The OpenAI SDK version where one of /v1/chat/completions, /v1/embeddings, /v1/audio/transcriptions
 * carries the request; otherwise {na: reason}. */
export function codeOpenAI(body, { origin, namespace }) {
  const model = targetId(body);
  const inputs = body.inputs || {};
  const p = body.parameters || {};
  const head = `import os

from openai import OpenAI

client = OpenAI(
    base_url="${origin}/v1",
    api_key=os.environ["${KEY_ENV}"],
    default_headers={"X-Namespace": ${JSON.stringify(namespace)}},
)
`;
  const extras = [];
  if (p.temperature !== undefined) extras.push(`    temperature=${p.temperature},`);
  if (p.top_p !== undefined) extras.push(`    top_p=${p.top_p},`);
  if (p.max_tokens !== undefined) extras.push(`    max_tokens=${p.max_tokens},`);
  if (p.stop !== undefined) extras.push(`    stop=${pyLiteral(p.stop, 1)},`);
  if (p.seed !== undefined) extras.push(`    seed=${p.seed},`);
  if (p.schema !== undefined) {
    extras.push(`    response_format={"type": "json_schema", "json_schema": {"name": "answer", "schema": ${pyLiteral(p.schema, 2)}}},`);
  }
  if (Array.isArray(inputs.messages) || (Array.isArray(inputs.prompts) && inputs.prompts.length === 1)) {
    if (inputs.image_url || inputs.image_base64 || inputs.images) {
      return { na: "images are not in this sample: send them as image_url content parts, or use curl" };
    }
    const messages = [];
    if (inputs.system) messages.push({ role: "system", content: inputs.system });
    messages.push(...(inputs.messages || [{ role: "user", content: inputs.prompts[0] }]));
    return { code: `${head}
completion = client.chat.completions.create(
    model=${JSON.stringify(model)},
    messages=${pyLiteral(messages, 1)},
${extras.join("\n")}${extras.length ? "\n" : ""})
print(completion.choices[0].message.content)
` };
  }
  if (Array.isArray(inputs.prompts)) return { na: "a batch of prompts has no OpenAI equivalent: send one conversation" };
  const keys = Object.keys(inputs);
  if (keys.length === 1 && (keys[0] === "text" || keys[0] === "texts")) {
    const dims = p.dimensions !== undefined ? `\n    dimensions=${p.dimensions},` : "";
    return { code: `${head}
result = client.embeddings.create(
    model=${JSON.stringify(model)},
    input=${pyLiteral(inputs.text ?? inputs.texts, 1)},${dims}
)
print([len(item.embedding) for item in result.data])
` };
  }
  if (inputs.audio_base64 || inputs.audio_url) {
    const lang = p.language ? `\n    language=${JSON.stringify(p.language)},` : "";
    return { code: `${head}
with open("audio.wav", "rb") as audio:  # the file you uploaded
    transcription = client.audio.transcriptions.create(
        model=${JSON.stringify(model)},
        file=audio,${lang.replace(/\n/g, "\n    ")}
    )
print(transcription.text)
` };
  }
  return { na: "the OpenAI routes carry chat, text embeddings and transcription; this request is neither" };
}
