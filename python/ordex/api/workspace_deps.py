"""Dependencies of the workspace routes: the acting user (with X-Client-Id as the origin of the
state events it causes), the secret box for credentials, and path ids."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Header, Request

from ordex.api.deps import CurrentUser, RedisDep
from ordex.crypto import SecretBox
from ordex.services.errors import ServiceError
from ordex.services.state_events import Actor


async def get_actor(
    user: CurrentUser,
    redis: RedisDep,
    x_client_id: Annotated[
        str | None,
        Header(
            alias="X-Client-Id",
            max_length=200,
            description="Echoed as `origin` in the state:changed events this request causes",
        ),
    ] = None,
) -> Actor:
    return Actor(user_id=user.id, origin=(x_client_id or "").strip() or None, redis=redis)


ActorDep = Annotated[Actor, Depends(get_actor)]


def get_secret_box(request: Request) -> SecretBox:
    """One box per app, built from the app's settings on first use."""
    box: SecretBox | None = getattr(request.app.state, "secret_box", None)
    if box is None:
        box = SecretBox.from_settings(request.app.state.settings)
        request.app.state.secret_box = box
    return box


SecretBoxDep = Annotated[SecretBox, Depends(get_secret_box)]


def parse_id(value: str, not_found: Callable[[], ServiceError]) -> uuid.UUID:
    """A path id that is not a UUID names nothing: 404, like an id that does not exist."""
    try:
        return uuid.UUID(value)
    except ValueError:
        raise not_found() from None
