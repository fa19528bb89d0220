"""``/v1/organizations/api-keys``: the organization's API keys over the API, through the same services as the
dashboard and ``manage.py`` (tenancy/accounts/services.py).

- ``POST   /v1/organizations/api-keys``              create one; the answer carries its secret, once (201)
- ``GET    /v1/organizations/api-keys``              list them (``?status=active|revoked|expired``), never a secret
- ``GET    /v1/organizations/api-keys/{id}``         one key
- ``PATCH  /v1/organizations/api-keys/{id}``         name, permissions, namespaces, expires_at, limits
- ``POST   /v1/organizations/api-keys/{id}/revoke``  revoke it (every worker refuses it within AUTH_CACHE_SECONDS)
- ``POST   /v1/organizations/api-keys/{id}/rotate``  a new secret with the same settings; the old key is revoked

Managing keys needs an ``admin`` key that is not scoped to some namespaces (an organization-wide one): a
scoped admin key could otherwise mint a key wider than itself. Another organization's key ids are 404 alike.
"""

from __future__ import annotations

from datetime import datetime
from datetime import timezone as dt_timezone
from typing import Any

from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.errors import ForbiddenError, NotFoundError, ValidationError
from core.strings import name_problem
from tenancy.accounts.authentication import OrganizationKeyAuthentication, OrganizationScope
from tenancy.accounts.models import ApiKey, Namespace, Organization, Permission
from tenancy.accounts.services import CreatedKey, api_key_create, api_key_revoke, api_key_rotate, api_key_update

FIELDS = ("name", "permissions", "namespaces", "expires_at", "rate_limit_rpm", "rate_limit_tpm")
STATUSES = ("active", "revoked", "expired")
MAX_KEYS_LISTED = 1000


def key_json(key: ApiKey, secret: str | None = None) -> dict[str, Any]:
    described = {"id": key.id, "object": "api_key", "name": key.name, "prefix": key.prefix,
                 "permissions": sorted(key.permissions), "all_namespaces": key.all_namespaces,
                 "namespaces": [] if key.all_namespaces else sorted(key.namespaces.values_list("id", flat=True)),
                 "status": key.status, "expires_at": _iso(key.expires_at), "revoked_at": _iso(key.revoked_at),
                 "last_used_at": _iso(key.last_used_at), "created_at": _iso(key.created_at),
                 "rate_limit_rpm": key.rate_limit_rpm, "rate_limit_tpm": key.rate_limit_tpm}
    if secret is not None:
        described["secret"] = secret  # shown once, here
    return described


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def _manager(request: Request) -> OrganizationScope:
    scope: OrganizationScope = request.auth
    scope.require(Permission.ADMIN)
    if scope.namespace_ids is not None:
        raise ForbiddenError("Managing keys needs an organization-wide admin key (this one is scoped to some "
                             "namespaces)", details={"required": "admin key for every namespace"})
    return scope


def _key(scope: OrganizationScope, key_id: str) -> ApiKey:
    key = ApiKey.objects.filter(organization_id=scope.organization_id, id=int(key_id)).first() \
        if key_id.isdigit() and len(key_id) <= 18 else None
    if key is None:
        raise NotFoundError("API key not found", details={"resource": "api_key", "id": key_id[:40]})
    return key


def _settings(body: Any, organization_id: int, *, creating: bool) -> dict[str, Any]:
    """The body as the services' keyword arguments, each field checked (422 listing every problem)."""
    if not isinstance(body, dict):
        raise ValidationError([{"field": "body", "problem": "must be a JSON object"}], accepted=list(FIELDS))
    problems = [{"field": name, "problem": "unknown key"} for name in sorted(set(body) - set(FIELDS))]
    changes: dict[str, Any] = {}
    if "name" in body:
        if body["name"] != "" and (problem := name_problem(body["name"], max_chars=100)):
            problems.append({"field": "name", "problem": problem})
        changes["name"] = body["name"]
    if "permissions" in body:
        value = body["permissions"]
        if not isinstance(value, list) or not value or not all(p in Permission.values for p in value):
            problems.append({"field": "permissions", "problem": f"a non-empty array of {', '.join(Permission.values)}"})
        changes["permissions"] = value
    if "namespaces" in body:
        changes["namespaces"], problem = _namespaces(body["namespaces"], organization_id)
        problems += [problem] if problem else []
    if "expires_at" in body:
        changes["expires_at"], problem = _expiry(body["expires_at"])
        problems += [problem] if problem else []
    for name in ("rate_limit_rpm", "rate_limit_tpm"):
        if name in body:
            value = body[name]
            if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
                problems.append({"field": name, "problem": "an integer (0: no limit) or null (the organization's)"})
            changes[name] = value
    if not creating and not body:
        problems.append({"field": "body", "problem": f"send some of {', '.join(FIELDS)}"})
    if problems:
        raise ValidationError(problems, accepted=list(FIELDS))
    return changes


def _namespaces(value: Any, organization_id: int) -> tuple[list[Namespace] | None, dict[str, str] | None]:
    """null: every namespace; else an array of the organization's namespace ids or names."""
    if value is None:
        return None, None
    if not isinstance(value, list) or not value or len(value) > 1000 or \
            any(name_problem(item, max_chars=100) for item in value):
        return None, {"field": "namespaces", "problem": "null (every namespace) or a non-empty array of namespace "
                                                        "ids or names"}
    found = {n.id: n for n in Namespace.objects.filter(organization_id=organization_id, id__in=value)}
    found |= {n.name: n for n in Namespace.objects.filter(organization_id=organization_id, name__in=value)}
    missing = [item for item in value if item not in found]
    if missing:
        return None, {"field": "namespaces", "problem": f"no such namespace: {', '.join(missing[:5])}"}
    return list({found[item].id: found[item] for item in value}.values()), None


def _expiry(value: Any) -> tuple[datetime | None, dict[str, str] | None]:
    if value is None:
        return None, None
    try:
        moment = datetime.fromisoformat(value) if isinstance(value, str) and len(value) <= 40 else None
    except ValueError:
        moment = None
    if moment is None:
        return None, {"field": "expires_at", "problem": "an ISO 8601 datetime, or null for never"}
    moment = moment if moment.tzinfo else moment.replace(tzinfo=dt_timezone.utc)
    if moment <= datetime.now(dt_timezone.utc) or moment.year > 2999:
        return None, {"field": "expires_at", "problem": "must be in the future (and before 3000)"}
    return moment, None


def _created(created: CreatedKey, status: int) -> Response:
    return Response(key_json(created.key, secret=created.secret), status=status)


class KeysView(APIView):
    authentication_classes = [OrganizationKeyAuthentication]

    def get(self, request: Request) -> Response:
        scope = _manager(request)
        status = request.query_params.get("status")
        unknown = sorted(set(request.query_params) - {"status"})
        if unknown or status is not None and status not in STATUSES:
            raise ValidationError([{"field": name, "problem": "unknown query parameter"} for name in unknown]
                                  or [{"field": "status", "problem": f"one of {', '.join(STATUSES)}"}])
        keys = ApiKey.objects.filter(organization_id=scope.organization_id).order_by("-created_at", "-id")
        listed = [key_json(key) for key in keys.prefetch_related("namespaces")[:MAX_KEYS_LISTED]]
        return Response({"object": "list", "data": [k for k in listed if status is None or k["status"] == status]})

    def post(self, request: Request) -> Response:
        scope = _manager(request)
        changes = _settings(request.data, scope.organization_id, creating=True)
        organization = Organization.objects.get(id=scope.organization_id)
        return _created(api_key_create(organization=organization, **changes), 201)


class KeyView(APIView):
    authentication_classes = [OrganizationKeyAuthentication]

    def get(self, request: Request, key_id: str) -> Response:
        return Response(key_json(_key(_manager(request), key_id)))

    def patch(self, request: Request, key_id: str) -> Response:
        scope = _manager(request)
        key = _key(scope, key_id)
        changes = _settings(request.data, scope.organization_id, creating=False)
        return Response(key_json(api_key_update(key=key, **changes)))


class KeyRevokeView(APIView):
    authentication_classes = [OrganizationKeyAuthentication]

    def post(self, request: Request, key_id: str) -> Response:
        return Response(key_json(api_key_revoke(key=_key(_manager(request), key_id))))


class KeyRotateView(APIView):
    authentication_classes = [OrganizationKeyAuthentication]

    def post(self, request: Request, key_id: str) -> Response:
        return _created(api_key_rotate(key=_key(_manager(request), key_id)), 201)
