"""Django admin: enabling a plugin there makes the same checks as the API."""

from inference.plugins.models import NamespacePlugin
from tests.conftest import tenant_create

ADD = "/admin/plugins/namespaceplugin/add/"


def test_admin_enables_with_checked_parameters(admin_client):
    tenant = tenant_create("acme", "main")
    page = admin_client.get(ADD)
    assert page.status_code == 200 and b"keyword_extractor_1_0_0" in page.content
    form = {"namespace": tenant.namespace.id, "inference_name": "keyword_extractor_1_0_0",
            "parameters": '{"top_k": 99}'}
    refused = admin_client.post(ADD, form)
    assert refused.status_code == 200 and b"parameters.top_k" in refused.content
    assert not NamespacePlugin.objects.exists()
    accepted = admin_client.post(ADD, {**form, "parameters": '{"top_k": 2}'})
    assert accepted.status_code == 302
    row = NamespacePlugin.objects.get()
    assert (row.namespace_id, row.inference_name, row.parameters) == (tenant.namespace.id, "keyword_extractor_1_0_0",
                                                                      {"top_k": 2})
    assert admin_client.get("/admin/plugins/namespaceplugin/").status_code == 200
