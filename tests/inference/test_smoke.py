from tests.conftest import ausage_records, post_inference


async def test_echo_roundtrip(tenant, client):
    response = await post_inference(client, {"provider": "test", "model": "echo", "inputs": {"prompts": ["hi there"]}},
                                    tenant.headers())
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["data"] == {"responses": [{"text": "hi there", "finish_reason": "stop"}]}
    records = await ausage_records()
    assert len(records) == 1 and records[0].status == 200
