"""统一身份认证: applicants (citizens and enterprises) sign in with the province's unified
identity service, an OpenID Connect provider, through authlib.

The identity a provider asserts is checked like any identifier an applicant types: an ID
number or a credit code with its check digit. It is kept in the page session, on the server
(`api.page_sessions`), never in a cookie or a URL, and it is what 我的办件, 我的证照 and 秒填
are keyed by.
"""

from __future__ import annotations

import os
import warnings
from typing import Any, Literal
from urllib.parse import urlsplit

from authlib.deprecate import AuthlibDeprecationWarning
from fastapi import Request
from pydantic import BaseModel

from api import page_sessions
from domain.identifiers import credit_code_problem, id_number_problem
from settings import Settings

# authlib 1.9's Starlette client imports its own httpx client, which announces a move to
# httpx2 at import: a notice about authlib's next version, logged at WARNING on every start.
with warnings.catch_warnings():
    warnings.simplefilter("ignore", AuthlibDeprecationWarning)
    from authlib.integrations.starlette_client import OAuth

SESSION_KEY = "identity"
PROVIDER = "unified"


class Identity(BaseModel):
    """Who signed in: a person (by ID number) or an enterprise (by credit code)."""

    sub: str
    kind: Literal["person", "company"]
    name: str
    id: str  # 身份证号码 or 统一社会信用代码
    phone: str = ""
    operator_name: str = ""  # for an enterprise: the person acting for it
    operator_id: str = ""

    @property
    def kind_label(self) -> str:
        return "个人" if self.kind == "person" else "企业"


class IdentityRefused(Exception):
    """The provider's claims do not make a usable identity."""


def identity_from_claims(claims: dict[str, Any]) -> Identity:
    """An identity from an ID token's claims (`id_number` for a person, `credit_code` for an
    enterprise, with `name`, optionally `phone_number` and the operator's)."""
    name = str(claims.get("name") or "").strip()
    id_number = str(claims.get("id_number") or "").strip().upper()
    credit_code = str(claims.get("credit_code") or "").strip().upper()
    if not name or bool(id_number) == bool(credit_code):
        raise IdentityRefused("身份信息不完整")
    problem = id_number_problem(id_number) if id_number else credit_code_problem(credit_code)
    if problem:
        raise IdentityRefused(problem)
    return Identity(
        sub=str(claims.get("sub", "")),
        kind="person" if id_number else "company",
        name=name,
        id=id_number or credit_code,
        phone=str(claims.get("phone_number") or ""),
        operator_name=str(claims.get("operator_name") or ""),
        operator_id=str(claims.get("operator_id_number") or "").upper(),
    )


def oauth_client(settings: Settings) -> OAuth | None:
    """The provider's client, or None when no issuer is configured."""
    if not settings.oidc_issuer:
        return None
    issuer = urlsplit(settings.oidc_issuer)
    if issuer.scheme != "https":
        if issuer.hostname not in ("127.0.0.1", "localhost", "::1"):
            raise ValueError("TONGBAN_OIDC_ISSUER must be https (plain http only on loopback)")
        # The local provider of `tongban dev` and the tests speaks plain HTTP on loopback.
        os.environ["AUTHLIB_INSECURE_TRANSPORT"] = "1"
    oauth = OAuth()
    oauth.register(
        PROVIDER,
        server_metadata_url=f"{settings.oidc_issuer.rstrip('/')}/.well-known/openid-configuration",
        client_id=settings.oidc_client_id,
        client_secret=settings.oidc_client_secret.get_secret_value(),
        client_kwargs={"scope": "openid profile phone"},
    )
    return oauth


def signed_in(request: Request) -> Identity | None:
    data = request.session.get(SESSION_KEY)
    return Identity.model_validate(data) if data else None


def sign_in(request: Request, identity: Identity) -> None:
    request.session[SESSION_KEY] = identity.model_dump()
    page_sessions.renew(request)


def sign_out(request: Request) -> None:
    request.session.pop(SESSION_KEY, None)
    page_sessions.renew(request)  # the old token, wherever a copy of it is, ends here
