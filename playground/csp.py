"""Content-Security-Policy on every response Django serves (playground, dashboard, sign-in, admin, API
reference): ``settings.CONTENT_SECURITY_POLICY``, none when empty. Scripts come only from our own origin (no
inline script, no eval); styles may be inline, because the dashboard sizes its bars with style attributes."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.deprecation import MiddlewareMixin


class ContentSecurityPolicyMiddleware(MiddlewareMixin):
    def process_response(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        policy = settings.CONTENT_SECURITY_POLICY
        if policy and "Content-Security-Policy" not in response:
            response["Content-Security-Policy"] = policy
        return response
