"""``google/multimodalembedding`` through google-cloud-aiplatform's REST transport against the Vertex AI
predict endpoint of the wire-format fake: text, image and video (as base64 and as URLs fetched safely),
dimensions, and video segments."""

import base64
import io

import av
import numpy as np
import pytest

from tests.conftest import ausage_records, post_inference
from tests.fakes.google_server import vector

PREDICT = ("/v1/projects/infergate-test/locations/us-central1/publishers/google/models/"
           "multimodalembedding@001:predict")
PNG_BYTES = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


def embed(inputs: dict, parameters: dict | None = None) -> dict:
    return {"provider": "google", "model": "multimodalembedding", "inputs": inputs,
            **({"parameters": parameters} if parameters else {})}


@pytest.fixture(scope="module")
def video() -> bytes:
    """Six seconds of 64x64 MPEG-4 at 4 frames per second, made with PyAV."""
    out = io.BytesIO()
    with av.open(out, "w", format="mp4") as container:
        stream = container.add_stream("mpeg4", rate=4)
        stream.width, stream.height, stream.pix_fmt = 64, 64, "yuv420p"
        for i in range(24):
            frame = av.VideoFrame.from_ndarray(np.full((64, 64, 3), i * 10, dtype=np.uint8), format="rgb24")
            container.mux(stream.encode(frame))
        container.mux(stream.encode())
    return out.getvalue()


async def test_text_embeddings_with_1408_dimensions_by_default_and_fewer_on_request(tenant, client, fake_google,
                                                                                    vertex_environment):
    response = await post_inference(client, embed({"text": "a cat on a mat"}), tenant.headers())
    assert response.status_code == 200, response.content
    result = response.json()
    assert result["provider"] == "google" and result["model"] == "multimodalembedding"
    assert result["data"] == {"embedding": vector("a cat on a mat", 1408), "dimensions": 1408}
    assert result["tokens_used"] == {"prompt": 0, "completion": 0, "total": 0}
    small = (await post_inference(client, embed({"text": "a cat"}, {"dimension": 128}), tenant.headers())).json()
    assert small["data"]["dimensions"] == 128 and len(small["data"]["embedding"]) == 128
    first, second = fake_google.requests()
    assert first.path == PREDICT and second.path == PREDICT
    assert first.body == {"instances": [{"text": "a cat on a mat"}], "parameters": {"dimension": 1408}}
    assert second.body["parameters"] == {"dimension": 128}
    # the aiplatform SDK authenticates with a self-signed JWT of the service account (cred-type/jwt)
    assert first.headers["authorization"].startswith("Bearer ey") and "cred-type/jwt" in first.headers[
        "x-goog-api-client"]
    records = await ausage_records()
    assert [(r.provider, r.model, r.modality, r.status) for r in records] == [
        ("google", "multimodalembedding", "multimodal_embedding", 200)] * 2


async def test_images_as_base64_and_url(tenant, client, fake_google, vertex_environment, settings):
    encoded = base64.b64encode(PNG_BYTES).decode()
    result = (await post_inference(client, embed({"image_base64": encoded}, {"dimension": 512}),
                                   tenant.headers())).json()
    assert result["data"]["dimensions"] == 512 and len(result["data"]["embedding"]) == 512
    (sent,) = fake_google.requests()
    assert sent.body["instances"] == [{"image": {"bytesBase64Encoded": encoded, "mimeType": "image/png"}}]
    fake_google.media["picture"] = PNG_BYTES
    settings.INFERGATE = {**settings.INFERGATE, "MEDIA": {**settings.INFERGATE["MEDIA"],
                                                          "ALLOW": {tenant.namespace.id: ["127.0.0.1/32"]}}}
    by_url = (await post_inference(client, embed({"image_url": f"{fake_google.base_url}/media/picture"},
                                                 {"dimension": 512}), tenant.headers())).json()
    assert by_url["data"] == result["data"]  # the same bytes, the same vector


async def test_video_segments_with_start_and_end(tenant, client, fake_google, vertex_environment, video, settings):
    encoded = base64.b64encode(video).decode()
    response = await post_inference(client, embed({"video_base64": encoded}, {"interval_s": 4}), tenant.headers())
    assert response.status_code == 200, response.content
    data = response.json()["data"]
    assert data["dimensions"] == 1408
    assert [(s["start_s"], s["end_s"], len(s["embedding"])) for s in data["segments"]] == [(0.0, 4.0, 1408),
                                                                                            (4.0, 6.0, 1408)]
    (sent,) = fake_google.requests()
    assert sent.body == {"instances": [{"video": {"bytesBase64Encoded": encoded,
                                                  "videoSegmentConfig": {"intervalSec": 4}}}], "parameters": {}}
    fake_google.media["clip"] = video
    settings.INFERGATE = {**settings.INFERGATE, "MEDIA": {**settings.INFERGATE["MEDIA"],
                                                          "ALLOW": {tenant.namespace.id: ["127.0.0.1/32"]}}}
    whole = (await post_inference(client, embed({"video_url": f"{fake_google.base_url}/media/clip"}),
                                  tenant.headers())).json()["data"]
    assert [(s["start_s"], s["end_s"]) for s in whole["segments"]] == [(0.0, 6.0)]  # Vertex's 16 s default


async def test_bad_inputs_are_refused_before_any_call(tenant, client, fake_google, vertex_environment, video):
    encoded = base64.b64encode(video).decode()
    for inputs, parameters, status in [
        ({"text": "x"}, {"dimension": 300}, 422),
        ({"text": "x"}, {"dimension": 64}, 422),
        ({"video_base64": encoded}, {"dimension": 128}, 422),  # video embeddings are 1408 only
        ({"text": "x", "image_base64": base64.b64encode(PNG_BYTES).decode()}, None, 422),
        ({"image_base64": encoded}, None, 422),  # a video where an image belongs
        ({"video_base64": "@@@"}, None, 400),
        ({"texts": ["a"]}, None, 422),
        ({"text": "   "}, None, 422),
        ({"text": "x"}, {"interval_s": 8}, 422),  # segments are for video
        ({"video_base64": encoded}, {"interval_s": 2}, 422),  # Vertex's shortest segment is 4 s
    ]:
        response = await post_inference(client, embed(inputs, parameters), tenant.headers())
        assert response.status_code == status, (inputs.keys(), parameters, response.content[:300])
    assert fake_google.requests() == []
