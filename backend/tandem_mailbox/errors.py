"""The ApiError family, and the problem+json document (RFC 9457) every error is answered with."""

from __future__ import annotations

import logging
from typing import Any, ClassVar

log = logging.getLogger("tandem")

PROBLEM_JSON = "application/problem+json"
# The longest wait Tandem ever tells a client to hold off for (Entra and MSAL cap theirs at 3600).
MAX_RETRY_AFTER = 3600


class ApiError(Exception):
    """An error with a stable `code` that the task pane switches on."""

    code: ClassVar[str] = "internal_error"
    status: int = 500  # the class's, unless an instance is raised with its own
    title: ClassVar[str] = "Something went wrong"

    def __init__(self, detail: str | None = None, *, status: int | None = None, **members: Any):
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.members = {k: v for k, v in members.items() if v is not None}
        if status is not None:
            self.status = status
        self.headers: dict[str, str] = {}


class InvalidRequest(ApiError):
    """The body or a field of it is malformed."""

    code, status, title = "invalid_request", 400, "The request is malformed"

    def __init__(self, detail: str, field: str | None = None):
        super().__init__(detail, field=field)


class KeyReused(InvalidRequest):
    """An Idempotency-Key already used for another request (the IETF httpapi draft's 422)."""

    status = 422

    def __init__(self, detail: str):
        super().__init__(detail, field="Idempotency-Key")


class TargetNotAllowed(ApiError):
    """targetRestUrl names a host outside the configured cloud."""

    code, status, title = "target_not_allowed", 400, "That mailbox location is not allowed"


class InvalidToken(ApiError):
    """The SSO token is missing, malformed, or not for this app and tenant."""

    code, status, title = "invalid_token", 401, "The sign-in token was not accepted"


class TokenExpired(ApiError):
    """The SSO token has expired; the pane fetches a fresh one and retries once."""

    code, status, title = "token_expired", 401, "The sign-in token has expired"


class InteractionRequired(ApiError):
    """Entra ID wants MFA or a Conditional Access step; carries `claims`."""

    code, status, title = "interaction_required", 401, "Additional sign-in is required"

    def __init__(self, detail: str | None = None, *, claims: str | None = None):
        super().__init__(detail, claims=claims)


class ConsentRequired(ApiError):
    """The person or an administrator must consent; carries `consentUrl`."""

    code, status, title = "consent_required", 403, "Consent is required"

    def __init__(self, detail: str | None = None, *, consent_url: str | None = None):
        super().__init__(detail, consentUrl=consent_url)


class PermissionDenied(ApiError):
    """The delegate permission bits sent do not allow the action."""

    code, status, title = "permission_denied", 403, "Your permissions do not allow this"


class MailboxAccessDenied(ApiError):
    """Exchange refused access to the mailbox or folder."""

    code, status, title = "mailbox_access_denied", 403, "Exchange refused access to this mailbox"


class SendAsDenied(ApiError):
    """No Send As or Send on Behalf right on the target mailbox."""

    code, status, title = "send_as_denied", 403, "You may not send as this mailbox"


class MailboxNotFound(ApiError):
    """No Exchange Online mailbox answers at that address."""

    code, status, title = "mailbox_not_found", 404, "No Exchange Online mailbox at that address"


class ItemNotFound(ApiError):
    """The item is gone, or its id belongs to another mailbox."""

    code, status, title = "item_not_found", 404, "The item was not found"


class Conflict(ApiError):
    """The item changed since it was read, or another person holds the claim."""

    code, status, title = "conflict", 409, "The item changed since you opened it"

    def __init__(
        self,
        detail: str | None = None,
        *,
        holder: dict[str, str] | None = None,
        etag: str | None = None,
        item: dict[str, Any] | None = None,
    ):
        super().__init__(detail, holder=holder, etag=etag, item=item)


class Throttled(ApiError):
    """Graph or Entra ID throttled beyond the retries."""

    code, status, title = "throttled", 429, "Microsoft 365 asked us to slow down"

    def __init__(self, detail: str | None = None, *, retry_after: float = 5):
        seconds = max(1, min(MAX_RETRY_AFTER, round(retry_after)))
        super().__init__(detail, retryAfter=seconds)
        self.headers["Retry-After"] = str(seconds)


class UpstreamUnavailable(ApiError):
    """Entra ID or Graph gave a bad answer (502), was unavailable (503) or timed out (504)."""

    code, status, title = "upstream_unavailable", 503, "Microsoft 365 is not answering"
    # Whether the request may have reached the service (an answer, or a timeout after it was
    # sent), and whether the service answered it (its answer is final: nothing more happens
    # after it): what a send must know before it can be called unsent.
    reached: bool = True
    answered: bool = True


class SendOutcomeUnknown(ApiError):
    """A send reached Graph and Tandem can't know whether it went out: never sent again by
    itself; a replay with the same Idempotency-Key resolves it by looking."""

    code, status, title = "send_outcome_unknown", 502, "Tandem can't tell whether it was sent"


class ServerMisconfigured(ApiError):
    """The app's own credentials or settings were refused; details go to the operator's log."""

    code, status, title = "server_misconfigured", 500, "The add-in's server is misconfigured"


def problem_body(
    status: int,
    code: str,
    title: str,
    detail: str,
    members: dict[str, Any] | None = None,
    *,
    request_id: str | None = None,
) -> dict[str, Any]:
    """The problem+json document (RFC 9457) with the contract's members."""
    body: dict[str, Any] = {
        "type": f"urn:tandem:problem:{code}",
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
        "requestId": request_id,
    }
    body.update(members or {})
    return body


def body_of(error: ApiError, *, request_id: str | None = None) -> dict[str, Any]:
    """The problem+json document an ApiError is answered with."""
    return problem_body(
        error.status, error.code, error.title, error.detail, error.members, request_id=request_id
    )
