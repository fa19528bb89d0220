"""/dashboard/...: every page of an organization lives under /dashboard/<organization id>/."""

from django.urls import path

from playground.web.dashboard.views import common, deployments, keys, namespace_settings, namespaces, request_log, usage

app_name = "dashboard"

NS = "<int:org>/namespaces/<str:namespace_id>"

urlpatterns = [
    path("", common.dashboard_home, name="home"),
    path("<int:org>/keys", keys.keys_list, name="keys"),
    path("<int:org>/keys/new", keys.key_create, name="key_create"),
    path("<int:org>/keys/<int:key_id>/revoke", keys.key_revoke, name="key_revoke"),
    path("<int:org>/keys/<int:key_id>/rotate", keys.key_rotate, name="key_rotate"),
    path("<int:org>/namespaces", namespaces.namespaces_list, name="namespaces"),
    path("<int:org>/namespaces/new", namespaces.namespace_create_view, name="namespace_create"),
    path(NS, namespaces.namespace_detail, name="namespace"),
    path(f"{NS}/rename", namespaces.namespace_rename_view, name="namespace_rename"),
    path(f"{NS}/limits", namespaces.namespace_limits_view, name="namespace_limits"),
    path(f"{NS}/delete", namespaces.namespace_delete_view, name="namespace_delete"),
    path(f"{NS}/credentials", namespace_settings.named_credential_set_view, name="named_credential_set"),
    path(f"{NS}/credentials/<str:provider>", namespace_settings.credential_set_view, name="credential_set"),
    path(f"{NS}/credentials/<str:provider>/delete", namespace_settings.credential_delete_view,
         name="credential_delete"),
    path(f"{NS}/credentials/<str:provider>/<str:name>/delete", namespace_settings.named_credential_delete_view,
         name="named_credential_delete"),
    path(f"{NS}/routing", deployments.routing_update_view, name="routing_update"),
    path(f"{NS}/deployments/<str:alias>/<str:deployment>/reset", deployments.breaker_reset_view,
         name="breaker_reset"),
    path(f"{NS}/plugins/<str:inference_name>", namespace_settings.plugin_enable_view, name="plugin_enable"),
    path(f"{NS}/plugins/<str:inference_name>/disable", namespace_settings.plugin_disable_view,
         name="plugin_disable"),
    path(f"{NS}/cache", namespace_settings.cache_settings_view, name="cache_settings"),
    path(f"{NS}/cache/clear", namespace_settings.cache_clear_view, name="cache_clear"),
    path(f"{NS}/request-log", request_log.request_log_update_view, name="request_log_update"),
    path(f"{NS}/requests/<str:request_id>/open", request_log.request_open_view, name="request_open"),
    path("<int:org>/usage", usage.usage_page, name="usage"),
    path("<int:org>/usage/export.csv", usage.usage_export, name="usage_export"),
]
