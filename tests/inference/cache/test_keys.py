"""Scope and prompt keys: every answer-changing parameter splits the scope; the whole conversation counts."""

from __future__ import annotations

import base64

from inference.cache.keys import cache_refusal, embedding_text, prompt_hash, scope_key
from inference.providers.base import SEED, STOP, TEMPERATURE, TOP_P, max_tokens
from inference.request import call_build, request_parse
from inference.types import Message, Modality, ModelSpec, ParameterSpec

SPEC = ModelSpec(provider="p", model="m", modalities=(Modality.CHAT, Modality.VISION),
                 parameters=(TEMPERATURE, TOP_P, STOP, SEED, max_tokens(100, 10),
                             ParameterSpec("schema", "object", "JSON schema")))


def call(inputs, **parameters):
    return call_build(SPEC, request_parse({"provider": "p", "model": "m", "inputs": inputs,
                                           "parameters": {"temperature": 0, **parameters}}))


def key(inputs, namespace="ns_a", **parameters):
    return scope_key(namespace_id=namespace, spec=SPEC, call=call(inputs, **parameters))


def test_the_scope_changes_with_namespace_and_every_answer_changing_parameter():
    base = key({"prompts": ["hi"]})
    assert key({"prompts": ["other prompt"]}) == base  # the prompt is not in the scope: it is embedded
    variants = [key({"prompts": ["hi"]}, namespace="ns_b"), key({"prompts": ["hi"]}, temperature=0.5),
                key({"prompts": ["hi"]}, max_tokens=5), key({"prompts": ["hi"]}, stop=["\n"]),
                key({"prompts": ["hi"]}, seed=1), key({"prompts": ["hi"]}, top_p=0.5),
                key({"prompts": ["hi"]}, schema={"type": "object"}), key({"prompts": ["hi"], "system": "be brief"}),
                key({"prompts": ["hi"], "image_base64": base64.b64encode(b"one").decode()}),
                key({"prompts": ["hi"], "image_base64": base64.b64encode(b"two").decode()})]
    assert len({base, *variants}) == len(variants) + 1
    other_target = scope_key(namespace_id="ns_a", spec=ModelSpec(provider="p", model="m2", modalities=SPEC.modalities,
                                                                  parameters=SPEC.parameters),
                             call=call({"prompts": ["hi"]}))
    assert other_target != base


def test_the_whole_conversation_is_hashed_and_embedded_last_message_first():
    one = (Message("user", "I have a Flixora plan."), Message("assistant", "It renews on the 14th."),
           Message("user", "cancel it"))
    other = (Message("user", "I have a gym membership."), Message("assistant", "30 days notice."),
             Message("user", "cancel it"))
    assert prompt_hash(one) != prompt_hash(other)
    assert prompt_hash(one) == prompt_hash((Message("system", "x"),) + one)  # the system prompt is in the scope
    text = embedding_text(one)
    assert text.index("cancel it") < text.index("renews") < text.index("Flixora")
    assert embedding_text((Message("user", "just this"),)) == "just this"


def test_what_is_not_cached():
    assert cache_refusal(SPEC, call({"prompts": ["a", "b"]}), allow_sampling=False) == "batch"
    assert cache_refusal(SPEC, call({"prompts": ["a"]}, temperature=0.7), allow_sampling=False) == "sampling"
    assert cache_refusal(SPEC, call({"prompts": ["a"]}, temperature=0.7), allow_sampling=True) is None
    # no temperature given: the model's default (0.7) applies, so it is sampling too
    unset = call_build(SPEC, request_parse({"provider": "p", "model": "m", "inputs": {"prompts": ["a"]}}))
    assert cache_refusal(SPEC, unset, allow_sampling=False) == "sampling"
    assert cache_refusal(SPEC, call({"prompts": ["a"], "image_url": "https://example.com/a.png"}),
                         allow_sampling=False) == "image_url"
    assert cache_refusal(SPEC, call({"messages": [{"role": "user", "content": "a"}]}), allow_sampling=False) is None
