"""The playground in Chromium against the live server: the local models answer for real (SmolLM2 chat
streams over the websocket, MiniLM embeds, whisper transcribes an espeak-ng clip); the test provider's echo
is the second target of a comparison. Screenshots of each state go to the artifacts folder."""

from __future__ import annotations

import base64
import json
import math
import os
import re
import subprocess

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import expect

from tenancy.accounts.models import Membership
from tenancy.accounts.services import namespace_create
from tests.browser.conftest import screenshot, session_sign_in
from tests.conftest import tenant_create
from tests.inference.conftest import SENTENCE, speech, words

CHAT = "local/smollm2-135m-instruct"
EMBEDDER = "local/all-minilm-l6-v2"
TRANSCRIBER = "local/whisper-tiny-en"


@pytest.fixture
def member(transactional_db):
    tenant = tenant_create("acme", "main")
    user = get_user_model().objects.create_user("ada", "ada@example.com", "correct horse battery")
    Membership.objects.create(organization=tenant.organization, user=user, role=Membership.Role.MEMBER)
    user.tenant = tenant
    return user


@pytest.fixture
def playground(page, context, member):
    session_sign_in(context, member)
    page.goto("/playground")
    try:
        expect(page.locator("#pg[data-ready='true']")).to_be_attached(timeout=30_000)
        expect(page.locator("#pg-target option:not([disabled])").first).to_be_attached()
    except AssertionError:
        raise AssertionError(f"the page did not start; console errors: {context.console_errors}") from None
    yield page
    assert context.console_errors == []


def pick(page, target: str) -> None:
    page.get_by_label("Target", exact=True).select_option(target)


def run(page) -> None:
    page.get_by_role("button", name=re.compile("^Run")).click()


def metric(page, name: str, root: str = "#pg-result"):
    return page.locator(f"{root} [data-metric='{name}'] .metric-value")


def test_chat_streams_token_by_token_and_shows_latency_and_tokens(playground, context):
    page = playground
    expect(page.get_by_label("Target", exact=True)).to_have_value(CHAT)  # first visit: the local chat model
    screenshot(page, "playground-empty")
    pick(page, CHAT)
    page.get_by_label("System prompt", exact=True).fill("You are terse.")
    page.get_by_label("Message 1", exact=True).fill("Name three colours.")
    page.get_by_label("max tokens", exact=True).fill("16")
    page.get_by_label("temperature", exact=True).fill("0")
    # The JSON editor holds the exact body the form built.
    page.get_by_role("tab", name="JSON").click()
    body = json.loads(page.get_by_label(re.compile("^Request body")).input_value())
    assert body == {"provider": "local", "model": "smollm2-135m-instruct",
                    "inputs": {"messages": [{"role": "user", "content": "Name three colours."}], "system": "You are terse."},
                    "parameters": {"max_tokens": 16, "temperature": 0}}
    page.get_by_role("tab", name="Form").click()

    # Record what the page's socket receives, to see tokens arrive one by one.
    page.evaluate("""() => { window.__frames = []; const Native = window.WebSocket;
        window.WebSocket = function (...a) { const s = new Native(...a);
          s.addEventListener('message', (m) => window.__frames.push([performance.now(), JSON.parse(m.data).type]));
          return s; }; window.WebSocket.OPEN = Native.OPEN; }""")
    page.get_by_label("Message 1", exact=True).press("Control+Enter")
    # Text appears while streaming (a warm model may finish 16 tokens before the first poll, so the frames
    # below, not this screenshot, are what proves tokens arrived one by one).
    expect(page.locator("#pg-result .answer-text").first).not_to_be_empty(timeout=30_000)
    screenshot(page, "playground-chat-streaming")
    expect(metric(page, "latency")).to_have_text(re.compile(r"^\d+ ms$"), timeout=60_000)
    frames = page.evaluate("window.__frames")
    deltas = [t for t, kind in frames if kind == "delta"]
    assert [kind for _, kind in frames][0] == "start" and frames[-1][1] == "done"
    assert len(deltas) >= 3 and deltas[-1] - deltas[0] > 0, frames
    text = page.locator("#pg-result .answer-text").inner_text()
    assert text.strip()
    assert int(metric(page, "tokens").inner_text()) > 0
    expect(metric(page, "target")).to_have_text(CHAT)
    expect(page.locator("#pg-result [data-metric='cached']")).to_have_text("not cached")
    expect(metric(page, "cost")).to_have_text("$0")
    expect(page.locator("#pg-result [data-finish]")).to_have_text(re.compile("stop|length"))
    screenshot(page, "playground-chat-done")

    # History: the run, joined with its usage record; Open brings the request back.
    page.get_by_label("Message 1", exact=True).fill("something else")
    page.get_by_role("button", name="History").click()
    row = page.locator("#pg-history-list tbody tr").first
    expect(row).to_contain_text(CHAT)
    expect(row).to_contain_text("Name three colours.")
    expect(row.locator(".badge-ok")).to_have_text("200", timeout=10_000)  # from the run's usage record
    expect(row).to_contain_text(re.compile(r"\d+ ms"))
    screenshot(page, "playground-history")
    row.get_by_role("button", name=re.compile("^Open")).click()
    expect(page.get_by_label("Message 1", exact=True)).to_have_value("Name three colours.")
    assert context.console_errors == []


def test_stop_cancels_a_streaming_chat(playground):
    page = playground
    pick(page, CHAT)
    page.get_by_label("Message 1", exact=True).fill("Write a long story about a lighthouse keeper.")
    page.get_by_label("max tokens", exact=True).fill("400")
    run(page)
    expect(page.locator("#pg-result .answers.streaming .answer-text")).not_to_be_empty(timeout=30_000)
    page.get_by_role("button", name="Stop").click()
    expect(page.locator("#pg-result .stopped")).to_be_visible(timeout=10_000)
    assert page.locator("#pg-result .answer-text").inner_text().strip()
    expect(page.get_by_role("button", name=re.compile("^Run"))).to_be_enabled()
    screenshot(page, "playground-chat-stopped")
    page.get_by_role("button", name="History").click()  # the usage record says it was cancelled
    expect(page.locator("#pg-history-list tbody tr").first.locator(".badge-err")).to_have_text(
        "499 Cancelled", timeout=10_000)


def test_embeddings_of_two_texts_and_get_code_curl_returns_the_same(playground, context, member):
    page = playground
    pick(page, EMBEDDER)
    page.get_by_label("Text 1", exact=True).fill("A cat sat on the mat.")
    page.get_by_role("button", name="+ Add text").click()
    page.get_by_label("Text 2", exact=True).fill("Stock markets fell sharply today.")
    run(page)
    vectors = page.locator("#pg-result .vector")
    expect(vectors).to_have_count(2, timeout=60_000)
    expect(vectors.first).to_contain_text("384 dimensions")
    expect(vectors.first.locator(".vector-norm")).to_have_text(re.compile(r"norm 1\.0000"))
    expect(vectors.first.locator("svg.sparkline")).to_be_visible()
    expect(metric(page, "target")).to_have_text(EMBEDDER)
    screenshot(page, "playground-embeddings")

    page.get_by_role("button", name="Get code").click()
    expect(page.get_by_role("dialog", name="Get code")).to_be_visible()
    screenshot(page, "playground-get-code")
    command = page.locator("#pg-code-text").inner_text()
    assert "$INFERGATE_API_KEY" in command and member.tenant.secret not in command
    result = subprocess.run(["bash", "-c", command], capture_output=True, text=True, timeout=60,
                            env={**os.environ, "INFERGATE_API_KEY": member.tenant.secret})
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert answer["model"] == "all-minilm-l6-v2" and answer["data"]["dimensions"] == 384
    page.keyboard.press("Escape")
    # The page's vectors, through their Copy buttons, are the ones curl got.
    context.grant_permissions(["clipboard-read", "clipboard-write"])
    for i, theirs in enumerate(answer["data"]["embeddings"]):
        vectors.nth(i).get_by_role("button", name="Copy vector").click()
        expect(vectors.nth(i).get_by_role("button", name="Copied")).to_be_visible()
        ours = json.loads(page.evaluate("navigator.clipboard.readText()"))
        assert len(ours) == len(theirs) == 384
        assert math.dist(ours, theirs) < 1e-5

    page.get_by_role("button", name="Get code").click()

    # Other languages are offered; the OpenAI SDK sample applies to text embeddings.
    page.get_by_role("tab", name="OpenAI SDK").click()
    expect(page.locator("#pg-code-text")).to_contain_text("client.embeddings.create(")
    page.keyboard.press("Escape")
    expect(page.get_by_role("dialog", name="Get code")).to_be_hidden()


def test_transcription_of_a_generated_clip(playground, tmp_path):
    page = playground
    pick(page, TRANSCRIBER)
    clip = tmp_path / "clip.wav"
    clip.write_bytes(speech(SENTENCE, tmp_path))
    page.locator("[data-media='audio'] input[type='file']").set_input_files(str(clip))
    expect(page.locator("[data-media='audio'] audio")).to_be_attached()
    page.get_by_label("language", exact=True).fill("en")
    run(page)
    transcript = page.locator("#pg-result .transcript-text")
    expect(transcript).to_be_visible(timeout=90_000)
    assert {"quick", "fox", "lazy", "dog"} <= words(transcript.inner_text())
    expect(page.locator("#pg-result table.segments tbody tr").first).to_contain_text("0:00")
    expect(metric(page, "target")).to_have_text(TRANSCRIBER)
    screenshot(page, "playground-transcription")


def test_a_bad_schema_shows_the_error_envelope(playground):
    page = playground
    pick(page, CHAT)
    page.get_by_role("tab", name="JSON").click()
    editor = page.get_by_label(re.compile("^Request body"))
    editor.fill(json.dumps({"provider": "local", "model": "smollm2-135m-instruct",
                            "inputs": {"messages": [{"role": "user", "content": "hi"}]},
                            "parameters": {"schema": "not a schema", "max_tokens": 8}}))
    expect(page.locator("#pg-json-status")).to_have_text("In sync with the form.")
    run(page)
    error = page.locator("#pg-result .error-box")
    expect(error).to_be_visible(timeout=20_000)
    expect(error.locator("[data-error-type]")).to_have_text("ValidationError")
    expect(error).to_contain_text("parameters.schema")
    expect(error).to_contain_text("HTTP 422")
    screenshot(page, "playground-error")
    # Broken JSON is caught before anything is sent.
    editor.fill('{"provider": "local",')
    expect(page.locator("#pg-json-status")).to_contain_text("Not valid JSON")


def test_compare_two_targets_side_by_side(playground):
    page = playground
    pick(page, CHAT)
    page.get_by_label("Message 1", exact=True).fill("Say hello.")
    page.get_by_label("max tokens", exact=True).fill("8")
    page.get_by_role("button", name="Compare").click()
    page.get_by_label("Target 2", exact=True).select_option("test/echo")
    run(page)
    columns = page.locator(".compare-col")
    expect(columns).to_have_count(2)
    for i, target in enumerate([CHAT, "test/echo"]):
        expect(columns.nth(i).locator("[data-metric='target'] .metric-value")).to_have_text(target, timeout=60_000)
        expect(columns.nth(i).locator("[data-metric='tokens'] .metric-value")).to_have_text(re.compile(r"^[1-9]\d*$"))
    expect(columns.nth(1).locator(".answer-text")).to_have_text("Say hello.")
    screenshot(page, "playground-compare")


def test_a_shared_link_reopens_the_request_and_a_narrow_window_fits(playground):
    page = playground
    pick(page, EMBEDDER)
    page.get_by_label("Text 1", exact=True).fill("shared text")
    page.get_by_role("button", name="Share").click()
    link = page.get_by_label("Link", exact=True).input_value()
    assert "#request=" in link and "sk_" not in link
    page.keyboard.press("Escape")
    page.set_viewport_size({"width": 420, "height": 860})
    page.goto("about:blank")
    page.goto(link)
    expect(page.locator("#pg[data-ready='true']")).to_be_attached()
    expect(page.get_by_label("Text 1", exact=True)).to_have_value("shared text")
    screenshot(page, "playground-narrow")
    wide = page.evaluate("""() => [...document.querySelectorAll('body *')].filter((el) =>
        el.getBoundingClientRect().right > 421).map((el) => el.tagName + '.' + el.className + '#' + el.id).slice(0, 8)""")
    assert page.evaluate("document.documentElement.scrollWidth") <= 420, wide


def test_greyed_out_target_image_input_and_structured_output_tree(page, context, member, tmp_path):
    namespace_create(organization=member.tenant.organization, name="staging")
    session_sign_in(context, member)
    page.goto("/playground")
    expect(page.locator("#pg-target option[value='openai/gpt-4o-mini']")).to_contain_text("in main", timeout=30_000)
    page.get_by_label("Namespace", exact=True).select_option(label="acme / staging")  # the catalog of that namespace
    option = page.locator("#pg-target option[value='openai/gpt-4o-mini']")
    expect(option).to_be_disabled()
    expect(option).to_contain_text("no openai credentials in staging")
    # A body for it can still be written in JSON: the form follows (image input, schema editor).
    page.get_by_role("tab", name="JSON").click()
    page.get_by_label(re.compile("^Request body")).fill(json.dumps(
        {"provider": "openai", "model": "gpt-4o-mini", "inputs": {"messages": [{"role": "user", "content": "What is it?"}]}}))
    page.get_by_role("tab", name="Form").click()
    expect(page.get_by_label("Message 1", exact=True)).to_have_value("What is it?")
    image = tmp_path / "dot.png"
    image.write_bytes(base64.b64decode(
        "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="))
    page.locator("[data-media='image'] input[type='file']").set_input_files(str(image))
    expect(page.get_by_role("img", name="Preview of the image input")).to_be_visible()
    page.get_by_label("Schema (structured output)").fill('{"type": "object", "properties": {"kind": {"type": "string"}}}')
    screenshot(page, "playground-image-input")
    page.get_by_role("tab", name="JSON").click()
    body = json.loads(page.get_by_label(re.compile("^Request body")).input_value())
    assert body["inputs"]["image_base64"].startswith("data:image/png;base64,")
    assert body["parameters"]["schema"]["properties"] == {"kind": {"type": "string"}}
    run(page)
    error = page.locator("#pg-result .error-box")
    expect(error.locator("[data-error-type]")).to_have_text("InferenceServiceUnavailableError", timeout=20_000)
    screenshot(page, "playground-not-configured")
    # The panel shows a structured answer as a collapsible tree (rendered by the page's own module).
    page.evaluate("""async () => {
        const { responseView } = await import('/static/playground/render.js');
        document.getElementById('pg-result').replaceChildren(responseView({
          data: {responses: [{text: '{"kind": "dot", "size": [1, 1]}', finish_reason: 'stop',
                              structured: {kind: 'dot', size: [1, 1]}}]},
          provider: 'openai', model: 'gpt-4o-mini', latency_ms: 812.4,
          tokens_used: {prompt: 97, completion: 9, total: 106}, cached: true}, null));
    }""")
    tree = page.locator("#pg-result .structured details.tree").first
    expect(tree).to_contain_text("kind:")
    expect(tree).to_contain_text('"dot"')
    expect(page.locator("#pg-result [data-metric='cached']")).to_have_text("cached")
    screenshot(page, "playground-structured")
    tree.locator("summary").first.click()  # collapses
    expect(tree).not_to_have_attribute("open", "")


def test_request_mapping_functions(playground):
    """body.js's pure functions, run in the page: code samples quote any text, share links round-trip,
    switching targets keeps the inputs the new target reads, cost is tokens × price."""
    import shlex

    body = {"provider": "local", "model": "smollm2-135m-instruct",
            "inputs": {"messages": [{"role": "user", "content": "It's \"quoted\" — ünïcode $HOME `x`"}]}}
    made = playground.evaluate("""async (body) => {
        const m = await import('/static/playground/body.js');
        const chat = {id: 'local/c', kind: 'model', provider: 'local', model: 'c', input_keys: ['messages', 'prompts', 'system'],
                      parameters: [{name: 'temperature'}], price: {prompt_per_million: 2, completion_per_million: 4}};
        const embed = {id: 'local/e', kind: 'model', provider: 'local', model: 'e', input_keys: ['text', 'texts'],
                       parameters: []};
        return {
          curl: m.codeCurl(body, {origin: 'http://h', namespace: "team's"}),
          shared: m.shareDecode(m.shareEncode(body, 'main')),
          toEmbed: m.bodyFor(embed, {...body, parameters: {temperature: 0.5}}),
          backToChat: m.bodyFor(chat, {provider: 'local', model: 'e', inputs: {text: 'hello'}}),
          cost: m.costOf({tokens_used: {prompt: 1000, completion: 500}, cached: false}, chat),
          cachedCost: m.costOf({tokens_used: {prompt: 1000, completion: 500}, cached: true}, chat),
          openaiBatch: m.codeOpenAI({...body, inputs: {prompts: ['a', 'b']}}, {origin: 'http://h', namespace: 'main'}),
          plugin: m.targetId({inference_name: 'p_1_0_0'}),
        };
    }""", body)
    words = shlex.split(made["curl"].replace("\\\n", " "))
    assert words[words.index("-d") + 1] == json.dumps(body, separators=(",", ":"), ensure_ascii=False)
    assert "X-Namespace: team's" in words
    assert made["shared"] == {"namespace": "main", "body": body}
    assert made["toEmbed"] == {"provider": "local", "model": "e", "inputs": {"text": body["inputs"]["messages"][0]["content"]}}
    assert made["backToChat"]["inputs"] == {"messages": [{"role": "user", "content": "hello"}]}
    assert made["cost"] == pytest.approx(0.004) and made["cachedCost"] == 0
    assert "no OpenAI equivalent" in made["openaiBatch"]["na"] and made["plugin"] == "plugin/p_1_0_0"
