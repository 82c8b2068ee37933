"""`sso_required`: a view runs only for a request whose bearer token names a person."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import current_app, g, request

from tandem_mailbox.services import Services

Answer = TypeVar("Answer")


def services() -> Services:
    """The app's Services (built once by create_app)."""
    found: Services = current_app.extensions["tandem"]
    return found


def sso_required(view: Callable[..., Answer]) -> Callable[..., Answer]:
    """Validate the request's bearer token and hand the view its `caller` (keyword argument)."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Answer:
        caller = services().validator.caller(request.headers.get("Authorization"))
        g.caller = caller
        return view(*args, caller=caller, **kwargs)

    return wrapper
