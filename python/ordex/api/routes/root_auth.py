"""Root `/auth/register` and `/auth/login` with the exchange contract's shapes."""

from __future__ import annotations

from fastapi import APIRouter, Request

from ordex.api.deps import DbConn, LoginRateLimit, RegisterRateLimit, SettingsDep, client_ip
from ordex.api.schemas import (
    ROOT_ERRORS,
    LoginBody,
    RegisterBody,
    RootErrorOut,
    RootRegistered,
    RootSignedIn,
)
from ordex.services import auth as auth_service
from ordex.services import users as users_service

router = APIRouter(prefix="/auth", tags=["exchange auth"], responses=ROOT_ERRORS)


@router.post(
    "/register",
    status_code=201,
    dependencies=[RegisterRateLimit],
    response_model=RootRegistered,
    responses={409: {"model": RootErrorOut, "description": "EMAIL_TAKEN"}},
)
async def register(body: RegisterBody, conn: DbConn, settings: SettingsDep) -> dict[str, str]:
    registration = await users_service.register(
        conn,
        email=body.email,
        password=body.password,
        name=body.name,
        mode=settings.registration_mode,
    )
    return {"userId": str(registration.user.id)}


@router.post("/login", dependencies=[LoginRateLimit], response_model=RootSignedIn)
async def login(
    body: LoginBody, request: Request, conn: DbConn, settings: SettingsDep
) -> dict[str, str]:
    user = await users_service.authenticate(conn, email=body.email, password=body.password)
    issued = await auth_service.open_session(
        conn, settings, user, user_agent=request.headers.get("user-agent"), ip=client_ip(request)
    )
    return {"token": issued.token, "userId": str(user.id)}
