"""`/api/auth/*`: register, login, logout, me and refresh, with the auth_token cookie and bearer."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse, RedirectResponse

from ordex.api.deps import (
    AUTH_COOKIE,
    CurrentUser,
    DbConn,
    LoginRateLimit,
    RegisterRateLimit,
    SettingsDep,
    bearer_token,
    client_ip,
)
from ordex.api.errors import error_response
from ordex.api.schemas import (
    API_ERRORS,
    ApiErrorOut,
    LoginBody,
    Message,
    PendingRegistration,
    RegisterBody,
    SignedIn,
    UserEnvelope,
    user_json,
)
from ordex.config import Settings
from ordex.security import looks_like_jwt
from ordex.services import auth as auth_service
from ordex.services import users as users_service
from ordex.services.auth import IssuedToken
from ordex.services.errors import ServiceError

router = APIRouter(prefix="/api/auth", tags=["auth"], responses=API_ERRORS)


def set_auth_cookie(response: Response, settings: Settings, issued: IssuedToken) -> None:
    response.set_cookie(
        AUTH_COOKIE,
        issued.token,
        max_age=issued.max_age_seconds,
        httponly=True,
        secure=settings.cookie_secure,
        samesite="lax",
        path="/",
    )


def clear_auth_cookie(response: Response, settings: Settings) -> None:
    response.delete_cookie(
        AUTH_COOKIE, httponly=True, secure=settings.cookie_secure, samesite="lax", path="/"
    )


def session_token(request: Request) -> str | None:
    """The access JWT of this request, from the bearer header or the cookie."""
    bearer = bearer_token(request)
    if bearer and looks_like_jwt(bearer):
        return bearer
    return request.cookies.get(AUTH_COOKIE)


def signed_in_body(user_payload: dict[str, Any], token: str) -> dict[str, Any]:
    # `accessToken` is the trading-app name, `token` the workspace one; both carry the same JWT.
    return {"user": user_payload, "accessToken": token, "token": token}


@router.post(
    "/register",
    status_code=201,
    dependencies=[RegisterRateLimit],
    response_model=SignedIn | PendingRegistration,
    responses={409: {"model": ApiErrorOut, "description": "EMAIL_TAKEN"}},
)
async def register(
    body: RegisterBody, request: Request, response: Response, conn: DbConn, settings: SettingsDep
) -> dict[str, Any]:
    registration = await users_service.register(
        conn,
        email=body.email,
        password=body.password,
        name=body.name,
        mode=settings.registration_mode,
    )
    if registration.pending:
        return {"message": users_service.PENDING_MESSAGE}
    issued = await auth_service.open_session(
        conn,
        settings,
        registration.user,
        user_agent=request.headers.get("user-agent"),
        ip=client_ip(request),
    )
    set_auth_cookie(response, settings, issued)
    return signed_in_body(user_json(registration.user), issued.token)


@router.post("/login", dependencies=[LoginRateLimit], response_model=SignedIn)
async def login(
    body: LoginBody, request: Request, response: Response, conn: DbConn, settings: SettingsDep
) -> dict[str, Any]:
    user = await users_service.authenticate(conn, email=body.email, password=body.password)
    issued = await auth_service.open_session(
        conn, settings, user, user_agent=request.headers.get("user-agent"), ip=client_ip(request)
    )
    set_auth_cookie(response, settings, issued)
    return signed_in_body(user_json(user), issued.token)


@router.post("/logout", response_model=Message)
async def logout(
    request: Request, response: Response, conn: DbConn, settings: SettingsDep
) -> dict[str, str]:
    await auth_service.logout(conn, settings, session_token(request))
    clear_auth_cookie(response, settings)
    return {"message": "Logged out"}


@router.get("/me", response_model=UserEnvelope)
async def me(user: CurrentUser) -> dict[str, Any]:
    return {"user": user_json(user)}


@router.post("/refresh", response_model=SignedIn)
async def refresh(
    request: Request, response: Response, conn: DbConn, settings: SettingsDep
) -> dict[str, Any]:
    token = session_token(request)
    if token is None:
        raise ServiceError(401, "UNAUTHENTICATED", "No session to refresh")
    user, issued = await auth_service.refresh(conn, settings, token)
    set_auth_cookie(response, settings, issued)
    return signed_in_body(user_json(user), issued.token)


def safe_callback(url: str) -> str | None:
    """Same-origin paths only: `/markets` yes; `//evil`, `/\\evil`, `https://evil` no."""
    if not url.startswith("/") or url.startswith("//") or "\\" in url:
        return None
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in url):
        return None
    parts = urlsplit(url)
    if parts.scheme or parts.netloc:
        return None
    return url


@router.get("/refresh", response_model=None, status_code=302)
async def refresh_redirect(
    request: Request,
    conn: DbConn,
    settings: SettingsDep,
    callback_url: Annotated[
        str,
        Query(
            alias="callbackUrl",
            max_length=2048,
            # safe_callback's rule (checked there, 400 INVALID_CALLBACK_URL): a same-origin path.
            json_schema_extra={"pattern": r"^/([^/\\\x00-\x1f\x7f][^\\\x00-\x1f\x7f]*)?$"},
        ),
    ] = "/",
) -> Response:
    target = safe_callback(callback_url)
    if target is None:
        return error_response(
            request.url.path,
            400,
            "callbackUrl must be a same-origin path",
            code="INVALID_CALLBACK_URL",
            field="callbackUrl",
        )
    token = session_token(request)
    try:
        if token is None:
            raise ServiceError(401, "UNAUTHENTICATED", "No session to refresh")
        _, issued = await auth_service.refresh(conn, settings, token)
    except ServiceError as exc:
        failed: JSONResponse = error_response(
            request.url.path, exc.status_code, exc.message, code=exc.code
        )
        clear_auth_cookie(failed, settings)
        return failed
    redirect = RedirectResponse(target, status_code=302)
    set_auth_cookie(redirect, settings, issued)
    return redirect
