"""DRF authentication by `Authorization: Bearer <key>`, and the read-only rule."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request

from monitors.actors import api_actor, set_actor
from monitors.api_keys import api_key_find
from monitors.models import ApiKey

if TYPE_CHECKING:
    from rest_framework.views import APIView


@dataclass(frozen=True)
class KeyHolder:
    """The 'user' of a key-authenticated request: a project, not a person."""

    api_key: ApiKey
    is_authenticated: bool = True
    is_active: bool = True


class BearerKeyAuthentication(BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request: Request) -> tuple[KeyHolder, ApiKey] | None:
        header = get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("Authorization header must be 'Bearer <key>'.")
        raw_key = header[1].decode("latin-1")
        # Keys are printable ASCII; anything else (a NUL byte would upset PostgreSQL) is just wrong.
        api_key = api_key_find(raw_key) if raw_key.isascii() and raw_key.isprintable() else None
        if api_key is None:
            raise exceptions.AuthenticationFailed("Invalid API key.")
        # From here on the services act as this key (`monitors.permissions`, `monitors.audit`).
        set_actor(api_actor(request, api_key))
        return KeyHolder(api_key=api_key), api_key

    def authenticate_header(self, request: Request) -> str:
        return f'{self.keyword} realm="api"'


class HasProjectKey(BasePermission):
    """Any valid key may read; only read-write keys may write."""

    message = "This API key is read-only."

    def has_permission(self, request: Request, view: APIView) -> bool:
        api_key = request.auth
        if not isinstance(api_key, ApiKey):
            raise exceptions.NotAuthenticated("Send 'Authorization: Bearer <key>'.")
        return request.method in SAFE_METHODS or not api_key.read_only


class ReadWriteKeyOnly(BasePermission):
    """For endpoints a read-only key may not even read (API keys)."""

    message = "This endpoint needs a read-write API key."

    def has_permission(self, request: Request, view: APIView) -> bool:
        api_key = request.auth
        return isinstance(api_key, ApiKey) and not api_key.read_only
