"""The data shapes a plugin's output is held to, per modality (docs/contract.md)."""

import pytest

from inference.plugins.shapes import data_problems
from inference.types import InferenceCall, Message, Modality


def call(modality, inputs=None, **kwargs):
    return InferenceCall(modality=modality, inputs=inputs or {}, parameters=kwargs.pop("parameters", {}), **kwargs)


CHAT = call(Modality.CHAT, conversations=((Message("user", "a"),), (Message("user", "b"),)))
ANSWER = {"text": "x", "finish_reason": "stop"}
TRANSCRIPT = {"text": "hi", "language": "en", "duration_s": 1.5, "segments": [{"start_s": 0, "end_s": 1.5, "text": "hi"}]}


@pytest.mark.parametrize("data, problem", [
    ({"responses": [ANSWER, {**ANSWER, "structured": {"a": [1]}}]}, None),
    ({"responses": [ANSWER]}, "data.responses: must be an array of 2 answers"),
    ({"responses": [ANSWER, {**ANSWER, "text": 3}]}, "data.responses[1].text: must be a string"),
    ({"responses": [ANSWER, {**ANSWER, "finish_reason": ""}]}, "data.responses[1].finish_reason"),
    ({"responses": [ANSWER, {**ANSWER, "logprobs": []}]}, "data.responses[1].logprobs: not part of the shape"),
    ("text", "data: must be an object, not str"),
])
def test_chat(data, problem):
    problems = data_problems(data, CHAT)
    assert (problems[0].startswith(problem) if problem else problems == []), problems


@pytest.mark.parametrize("single, data, declared, problem", [
    (True, {"embedding": [0.1, 0.2], "dimensions": 2}, 2, None),
    (True, {"embedding": [0.1, 0.2], "dimensions": 2}, 3, "data.dimensions: is 2, but the plugin declares 3"),
    (True, {"embedding": [0.1, True], "dimensions": 2}, None, "data.embedding: must hold only finite numbers"),
    (True, {"embedding": [0.1, float("inf")], "dimensions": 2}, None, "data.embedding: must hold only finite"),
    (True, {"embedding": [], "dimensions": 2}, None, "data.embedding: must be a non-empty array"),
    (True, {"embeddings": [[0.1]], "dimensions": 1}, None, "data.embedding: missing"),
    (False, {"embeddings": [[0.1], [0.2]], "dimensions": 1}, None, None),
    (False, {"embeddings": [[0.1], [0.2, 0.3]], "dimensions": 1}, None, "data.embeddings[1]: has 2 numbers"),
    (False, {"embeddings": [[0.1]], "dimensions": 1}, None, "data.embeddings: must be an array of 2 vectors"),
    (False, {"embeddings": [[0.1], [0.2]], "dimensions": 0}, None, "data.dimensions: must be a positive integer"),
])
def test_text_embedding(single, data, declared, problem):
    texts = ("a",) if single else ("a", "b")
    problems = data_problems(data, call(Modality.TEXT_EMBEDDING, texts=texts, single=single), declared)
    assert (problems[0].startswith(problem) if problem else problems == []), problems


def test_a_requested_dimensions_parameter_overrides_the_declared_size():
    embedding = call(Modality.TEXT_EMBEDDING, texts=("a",), single=True, parameters={"dimensions": 2})
    assert data_problems({"embedding": [0.1, 0.2], "dimensions": 2}, embedding, 256) == []


def test_multimodal_embedding_and_video_segments():
    image = call(Modality.MULTIMODAL_EMBEDDING, {"image_url": "https://x/y.png"})
    assert data_problems({"embedding": [0.1], "dimensions": 1}, image) == []
    video = call(Modality.MULTIMODAL_EMBEDDING, {"video_url": "https://x/y.mp4"})
    segments = {"segments": [{"start_s": 0, "end_s": 4.0, "embedding": [0.1, 0.2]}], "dimensions": 2}
    assert data_problems(segments, video) == []
    assert data_problems({"embedding": [0.1], "dimensions": 1}, video)[0] == "data.segments: missing"
    broken = {"segments": [{"start_s": "0", "end_s": 4.0, "embedding": [0.1]}], "dimensions": 2}
    assert data_problems(broken, video) == ["data.segments[0].start_s: must be a number",
                                            "data.segments[0].embedding: has 1 numbers, but dimensions says 2"]


@pytest.mark.parametrize("data, problem", [
    (TRANSCRIPT, None),
    ({**TRANSCRIPT, "duration_s": -1}, "data.duration_s: must be a number >= 0"),
    ({**TRANSCRIPT, "language": None}, "data.language: must be a string"),
    ({**TRANSCRIPT, "segments": [{"start_s": 0, "end_s": 1}]}, "data.segments[0].text: missing"),
    ({"text": "hi"}, "data.duration_s: missing"),
])
def test_transcription(data, problem):
    problems = data_problems(data, call(Modality.TRANSCRIPTION, {"audio_url": "https://x/a.mp3"}))
    assert (problems[0].startswith(problem) if problem else problems == []), problems


def test_problems_are_capped():
    many = {"responses": [{"text": 1, "finish_reason": 2}] * 30}
    conversations = tuple((Message("user", "a"),) for _ in range(30))
    assert len(data_problems(many, call(Modality.CHAT, conversations=conversations))) == 10
