"""Short-lived signed tickets that let a signed-in browser open the inference websocket: browsers
cannot set headers on a websocket handshake, and an API key never goes into a URL.

``POST /v1/inference/stream/tickets`` (session cookie + CSRF token, body ``{"namespace": id or name}``)
answers ``{"ticket": ..., "expires_in": 60}`` for a member of the namespace's organization. The ticket
is signed with SECRET_KEY, names the user, organization, namespace and permissions, and is accepted for
60 seconds after it was minted.
"""

from __future__ import annotations

from django.core import signing
from django.http import HttpRequest, HttpResponse, JsonResponse

from core.errors import BadRequestError, InfergateError, MethodNotAllowedError, NotFoundError, UnauthorizedError
from core.strings import name_problem
from inference.api.errors import error_response
from inference.request import body_decode
from tenancy.accounts.authentication import KeyRecord, Principal, namespace_resolve
from tenancy.accounts.models import Membership, Namespace, Permission

SALT = "infergate.stream-ticket"
TICKET_SECONDS = 60
ROLE_PERMISSIONS = {
    Membership.Role.ADMIN: [Permission.READ, Permission.WRITE, Permission.ADMIN],
    Membership.Role.MEMBER: [Permission.READ],
}


def ticket_mint(*, user_id: int, reference: str) -> str:
    lookup = {"id": reference} if reference.startswith("ns_") else {"name": reference}
    memberships = Membership.objects.filter(user_id=user_id).values("organization_id", "role")
    roles = {m["organization_id"]: m["role"] for m in memberships}
    namespace = Namespace.objects.filter(organization_id__in=list(roles), **lookup).first()
    if namespace is None:
        raise NotFoundError("Namespace not found", details={"resource": "namespace"})
    payload = {"u": user_id, "o": namespace.organization_id, "n": namespace.id, "m": namespace.name,
               "p": [str(p) for p in ROLE_PERMISSIONS[roles[namespace.organization_id]]]}
    return signing.dumps(payload, salt=SALT, compress=True)


async def ticket_principal(ticket: str) -> Principal:
    try:
        payload = signing.loads(ticket, salt=SALT, max_age=TICKET_SECONDS)
    except signing.SignatureExpired:
        raise UnauthorizedError("This ticket has expired; mint a new one") from None
    except signing.BadSignature:
        raise UnauthorizedError("Invalid ticket") from None
    key = KeyRecord(id=None, organization_id=payload["o"], prefix=f"session:{payload['u']}",
                    permissions=frozenset(payload["p"]), all_namespaces=False,
                    namespace_ids=frozenset([payload["n"]]), expires_at=None, revoked=False, secret_hash="")
    # The namespace as it is now, with its settings (routing, provider timeout); gone since: 404.
    return await namespace_resolve(key, payload["n"])


def ticket_create(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":  # in the envelope, like every /v1/ error (Django's require_POST answers HTML)
        return error_response(MethodNotAllowedError("Use POST", headers={"Allow": "POST"}))
    if not request.user.is_authenticated:
        return error_response(UnauthorizedError("Sign in first: tickets are minted for browser sessions"))
    try:
        body = body_decode(request.body or b"{}")
        reference = body.get("namespace") if isinstance(body, dict) else None
        if not isinstance(reference, str) or not reference.strip():
            raise BadRequestError("Send {\"namespace\": \"<namespace id or name>\"}")
        if name_problem(reference, max_chars=100):  # no namespace is named so
            raise NotFoundError("Namespace not found", details={"resource": "namespace"})
        ticket = ticket_mint(user_id=request.user.id, reference=reference.strip())
    except InfergateError as error:
        return error_response(error)
    return JsonResponse({"ticket": ticket, "expires_in": TICKET_SECONDS})
