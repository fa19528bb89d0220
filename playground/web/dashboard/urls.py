"""/dashboard/...: every page of an organization lives under /dashboard/<organization id>/."""

from django.urls import path

from playground.web.dashboard.views import common, keys

app_name = "dashboard"

urlpatterns = [
    path("", common.dashboard_home, name="home"),
    path("<int:org>/keys", keys.keys_list, name="keys"),
    path("<int:org>/keys/new", keys.key_create, name="key_create"),
    path("<int:org>/keys/<int:key_id>/revoke", keys.key_revoke, name="key_revoke"),
    path("<int:org>/keys/<int:key_id>/rotate", keys.key_rotate, name="key_rotate"),
]
