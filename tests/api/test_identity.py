"""SSO token validation: what must pass, and a table of forgeries and mistakes that must not."""

from __future__ import annotations

import base64
import functools
import json
import os
import time
from collections.abc import Callable
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tandem_mailbox.emulator import seed
from tests.support.api import shared_body
from tests.support.clock import FakeClock
from tests.support.servers import BackendHandle, EmulatorHandle

CLIENT = seed.CLIENT_ID


def b64(data: dict[str, Any] | bytes) -> str:
    """base64url without padding, of JSON or bytes."""
    raw = data if isinstance(data, bytes) else json.dumps(data).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def parts(token: str) -> tuple[dict[str, Any], dict[str, Any], str]:
    """Header, claims and signature of a token."""
    header, claims, signature = token.split(".")
    pad = lambda s: s + "=" * (-len(s) % 4)  # noqa: E731
    return (
        json.loads(base64.urlsafe_b64decode(pad(header))),
        json.loads(base64.urlsafe_b64decode(pad(claims))),
        signature,
    )


@functools.cache
def stranger_key() -> rsa.RSAPrivateKey:
    """An RSA key Entra ID never published (one per session: generating keys is slow)."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def sso(emulator: EmulatorHandle, user: str = "lee@contoso.com", **options: Any) -> str:
    """A genuine SSO token from the emulator, with claim overrides."""
    return emulator.sso(user, **options)


# Each case builds an Authorization header value from the emulator; the code it must get.
Case = Callable[[EmulatorHandle], str]


def _alg_none(e: EmulatorHandle) -> str:
    header, claims, _ = parts(sso(e))
    return "Bearer " + ".".join([b64(dict(header, alg="none")), b64(claims), ""])


def _alg_none_with_signature(e: EmulatorHandle) -> str:
    header, claims, signature = parts(sso(e))
    return "Bearer " + ".".join([b64(dict(header, alg="none")), b64(claims), signature])


def _hs256_with_public_key(e: EmulatorHandle) -> str:
    header, claims, _ = parts(sso(e))
    public = e.emulator.entra.signer.private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    signing_input = f"{b64(dict(header, alg='HS256'))}.{b64(claims)}".encode()
    import hashlib
    import hmac

    signature = hmac.new(public, signing_input, hashlib.sha256).digest()
    return f"Bearer {signing_input.decode()}.{b64(signature)}"


def _unknown_kid(e: EmulatorHandle) -> str:
    _, claims, _ = parts(sso(e))
    kid = base64.urlsafe_b64encode(os.urandom(20)).rstrip(b"=").decode()
    return "Bearer " + jwt.encode(
        claims, stranger_key(), algorithm="RS256", headers={"kid": kid, "typ": "JWT"}
    )


def _known_kid_wrong_key(e: EmulatorHandle) -> str:
    header, claims, _ = parts(sso(e))
    return "Bearer " + jwt.encode(
        claims, stranger_key(), algorithm="RS256", headers={"kid": header["kid"], "typ": "JWT"}
    )


def _tampered_payload(e: EmulatorHandle) -> str:
    header, claims, signature = parts(sso(e, "joni@contoso.com"))
    lee = next(p for p in e.world()["people"] if p["upn"] == "lee@contoso.com")
    claims.update(oid=lee["oid"], preferred_username=lee["upn"])
    return "Bearer " + ".".join([b64(header), b64(claims), signature])


def _rs512(e: EmulatorHandle) -> str:
    _, claims, _ = parts(sso(e))
    key = e.emulator.entra.signer
    return "Bearer " + jwt.encode(
        claims, key.private_key, algorithm="RS512", headers={"kid": key.kid}
    )


def _crit_header(e: EmulatorHandle) -> str:
    _, claims, _ = parts(sso(e))
    key = e.emulator.entra.signer
    return "Bearer " + jwt.encode(
        claims, key.private_key, algorithm="RS256", headers={"kid": key.kid, "crit": ["exp"]}
    )


def _claims(**overrides: Any) -> Case:
    return lambda e: "Bearer " + sso(e, claims=overrides)


def _typed(**overrides: Any) -> Case:
    """A token signed with Entra's key whose claims PyJWT's encoder would refuse to write."""

    def case(e: EmulatorHandle) -> str:
        _, claims, _ = parts(sso(e))
        key = e.emulator.entra.signer
        payload = json.dumps({**claims, **overrides}).encode()
        return "Bearer " + jwt.PyJWS().encode(
            payload, key.private_key, algorithm="RS256", headers={"kid": key.kid, "typ": "JWT"}
        )

    return case


def _without(*names: str) -> Case:
    return lambda e: "Bearer " + sso(e, remove=list(names))


def _v1(**overrides: Any) -> Case:
    return lambda e: "Bearer " + sso(e, version=1, claims=overrides)


def _expired_and_forged(e: EmulatorHandle) -> str:
    _, claims, _ = parts(sso(e, claims={"exp": int(time.time()) - 3600}))
    return "Bearer " + jwt.encode(
        claims, stranger_key(), algorithm="RS256", headers={"kid": e.emulator.entra.signer.kid}
    )


def _raw(value: str) -> Case:
    return lambda e: value


HOST = "localhost"  # the emulator's authority host is localhost:<port>
BAD_TOKENS: list[tuple[str, Case, str]] = [
    ("alg none, no signature", _alg_none, "invalid_token"),
    ("alg none, signature kept", _alg_none_with_signature, "invalid_token"),
    ("HS256 signed with the public key", _hs256_with_public_key, "invalid_token"),
    ("RS512 with a published key", _rs512, "invalid_token"),
    ("unknown kid", _unknown_kid, "invalid_token"),
    ("published kid, another key", _known_kid_wrong_key, "invalid_token"),
    ("tampered payload", _tampered_payload, "invalid_token"),
    ("crit header", _crit_header, "invalid_token"),
    ("wrong aud", _claims(aud="00000000-1111-2222-3333-444444444444"), "invalid_token"),
    ("aud of Graph", _claims(aud="https://graph.microsoft.com"), "invalid_token"),
    (
        "v2 token with the App ID URI as aud",
        _claims(aud=f"api://localhost:3000/{CLIENT}"),
        "invalid_token",
    ),
    (
        "wrong iss host",
        _claims(iss=f"https://login.evil.example/{seed.CONTOSO}/v2.0"),
        "invalid_token",
    ),
    (
        "iss of another tenant than tid",
        lambda e: (
            "Bearer "
            + sso(e, claims={"iss": f"https://{e.emulator.entra.host}/{seed.FABRIKAM}/v2.0"})
        ),
        "invalid_token",
    ),
    (
        "tid and iss of a tenant not allowed",
        lambda e: "Bearer " + sso(e, "rosa@northwind.com"),
        "invalid_token",
    ),
    ("expired", _claims(exp=int(time.time()) - 600), "token_expired"),
    ("expired and forged", _expired_and_forged, "invalid_token"),
    ("nbf in the future", _claims(nbf=int(time.time()) + 600), "invalid_token"),
    ("missing scp", _without("scp"), "invalid_token"),
    ("wrong scp", _claims(scp="User.Read Mail.Read"), "invalid_token"),
    (
        "scp that only starts with access_as_user",
        _claims(scp="access_as_user_admin"),
        "invalid_token",
    ),
    (
        "app-only token (roles, no scp)",
        lambda e: "Bearer " + sso(e, claims={"roles": ["access_as_app"]}, remove=["scp"]),
        "invalid_token",
    ),
    (
        "v1 token with a v2 issuer",
        lambda e: (
            "Bearer "
            + sso(
                e, version=1, claims={"iss": f"https://{e.emulator.entra.host}/{seed.CONTOSO}/v2.0"}
            )
        ),
        "invalid_token",
    ),
    (
        "v2 token with a v1 issuer",
        _claims(iss=f"https://sts.windows.net/{seed.CONTOSO}/"),
        "invalid_token",
    ),
    ("v1 token for another App ID URI", _v1(aud=f"api://localhost:4000/{CLIENT}"), "invalid_token"),
    ("unknown version", _claims(ver="3.0"), "invalid_token"),
    ("missing tid", _without("tid"), "invalid_token"),
    ("missing exp", _without("exp"), "invalid_token"),
    ("missing oid", _without("oid"), "invalid_token"),
    ("malformed tid", _claims(tid="contoso"), "invalid_token"),
    ("empty header", _raw(""), "invalid_token"),
    ("Bearer and nothing", _raw("Bearer "), "invalid_token"),
    ("Basic credentials", _raw("Basic dXNlcjpwYXNz"), "invalid_token"),
    ("two segments", _raw("Bearer eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxIn0"), "invalid_token"),
    ("segments that are not JSON", _raw("Bearer abc.def.ghi"), "invalid_token"),
    ("oversized", _raw("Bearer " + "a" * 20_000 + ".b.c"), "invalid_token"),
    # D6: claims of the wrong type in a validly signed token were a 500.
    ("exp as a digit string", _typed(exp=str(int(time.time()) + 600)), "invalid_token"),
    ("nbf as a digit string", _typed(nbf=str(int(time.time()) - 60)), "invalid_token"),
    ("iat as a float", _typed(iat=time.time()), "invalid_token"),
    ("exp as true", _typed(exp=True), "invalid_token"),
    ("iss as a list", _typed(iss=[f"https://localhost/{seed.CONTOSO}/v2.0"]), "invalid_token"),
    ("iss as an object", _typed(iss={"url": "https://localhost"}), "invalid_token"),
    ("tid as a number", _typed(tid=42), "invalid_token"),
    ("scp as a list", _typed(scp=["access_as_user"]), "invalid_token"),
    # Issue 15, defect 6: a token naming no user was accepted with an empty upn, so its claim
    # `Tandem: Lee Gu ()` was invisible to Tandem and two people were both told they held it.
    ("v2 without preferred_username", _without("preferred_username"), "invalid_token"),
    ("v2 with an empty preferred_username", _claims(preferred_username=""), "invalid_token"),
    ("v2 with a blank preferred_username", _claims(preferred_username="  "), "invalid_token"),
    ("preferred_username not a sign-in", _claims(preferred_username="Lee Gu"), "invalid_token"),
    (
        "preferred_username with a claim's brackets",
        _claims(preferred_username="lee(x)@contoso.com"),
        "invalid_token",
    ),
    (
        "v1 without upn and unique_name",
        lambda e: "Bearer " + sso(e, version=1, remove=["upn", "unique_name"]),
        "invalid_token",
    ),
    (
        "oid with a trailing newline",
        _claims(oid="0b6f4f0a-3b8c-4d9e-8f1a-2c3d4e5f6a7b\n"),
        "invalid_token",
    ),
]


@pytest.mark.parametrize(
    ("case", "code"),
    [(c, code) for _, c, code in BAD_TOKENS],
    ids=[name for name, _, _ in BAD_TOKENS],
)
def test_bad_tokens_are_refused_before_any_exchange(
    backend: BackendHandle, emulator: EmulatorHandle, case: Case, code: str
):
    item = emulator.items("support@contoso.com")[0]
    authorization = case(emulator)
    before = emulator.stats()
    response = backend.http.post(
        f"{backend.url}/api/items/context",
        json=shared_body(item["id"], "support@contoso.com"),
        headers={"Authorization": authorization} if authorization else {},
    )
    assert response.status_code == 401, response.text
    assert response.headers["Content-Type"].startswith("application/problem+json")
    assert response.json()["code"] == code
    after = emulator.stats()
    assert after["tokenRequests"] == before["tokenRequests"]
    assert after["graphRequests"] == before["graphRequests"]
    assert after["jwksFetches"] - before["jwksFetches"] <= 1


def test_lowercase_bearer_scheme_is_accepted(backend: BackendHandle, emulator: EmulatorHandle):
    item = emulator.items("support@contoso.com")[0]
    response = backend.http.post(
        f"{backend.url}/api/items/context",
        json=shared_body(item["id"], "support@contoso.com"),
        headers={"Authorization": "bearer " + sso(emulator)},
    )
    assert response.status_code == 200, response.text


def _own_item(emulator: EmulatorHandle, upn: str) -> dict[str, Any]:
    return {"itemId": emulator.items(upn)[0]["id"], "itemType": "message"}


@pytest.mark.parametrize("version", [1, 2])
@pytest.mark.parametrize("user", ["lee@contoso.com", "diego@fabrikam.com"])
def test_v1_and_v2_tokens_of_two_allowed_tenants_pass(
    make_backend, emulator: EmulatorHandle, user: str, version: int
):
    backend = make_backend(
        emulator,
        TANDEM_TENANT_ID="organizations",
        TANDEM_ALLOWED_TENANTS=f"{seed.CONTOSO},{seed.FABRIKAM}",
    )
    response = backend.context(emulator.sso(user, version=version), _own_item(emulator, user))
    # The emulator refuses an on-behalf-of request whose path tenant is not the token's tid,
    # so a 200 for Diego also shows the exchange ran against Fabrikam's authority.
    assert response.status_code == 200, response.text
    assert response.json()["person"]["upn"] == user


def test_a_third_tenant_fails(make_backend, emulator: EmulatorHandle):
    backend = make_backend(
        emulator,
        TANDEM_TENANT_ID="organizations",
        TANDEM_ALLOWED_TENANTS=f"{seed.CONTOSO},{seed.FABRIKAM}",
    )
    before = emulator.stats()["tokenRequests"]
    response = backend.context(
        emulator.sso("rosa@northwind.com"), _own_item(emulator, "rosa@northwind.com")
    )
    assert response.status_code == 401
    assert response.json()["code"] == "invalid_token"
    assert emulator.stats()["tokenRequests"] == before


def test_single_tenant_default_refuses_other_tenants(make_backend, emulator: EmulatorHandle):
    backend = make_backend(emulator)  # TANDEM_TENANT_ID contoso, no allow-list: fails closed
    response = backend.context(
        emulator.sso("diego@fabrikam.com"), _own_item(emulator, "diego@fabrikam.com")
    )
    assert response.status_code == 401
    assert response.json()["code"] == "invalid_token"


def test_any_tenant_when_set_explicitly(make_backend, emulator: EmulatorHandle):
    backend = make_backend(emulator, TANDEM_TENANT_ID="organizations", TANDEM_ALLOWED_TENANTS="*")
    response = backend.context(
        emulator.sso("rosa@northwind.com"), _own_item(emulator, "rosa@northwind.com")
    )
    # Northwind's admin never consented, so Entra ID answers AADSTS65001 for its tenant.
    assert response.status_code == 403, response.text
    body = response.json()
    assert body["code"] == "consent_required"
    assert f"/{seed.NORTHWIND}/adminconsent?client_id={CLIENT}" in body["consentUrl"]


def test_office_clients_only_refuses_other_callers(make_backend, emulator: EmulatorHandle):
    backend = make_backend(emulator, TANDEM_OFFICE_CLIENTS_ONLY="true")
    item = _own_item(emulator, "lee@contoso.com")
    assert backend.context(emulator.sso("lee@contoso.com"), item).status_code == 200
    other = emulator.sso("lee@contoso.com", clientApp="04b07795-8ddb-461a-bbee-02f9e1bf7b46")
    response = backend.context(other, item)
    assert response.status_code == 401
    assert response.json()["code"] == "invalid_token"


def test_key_rotation_is_picked_up_without_restart(make_backend, fresh_emulator: EmulatorHandle):
    backend = make_backend(fresh_emulator)
    item = _own_item(fresh_emulator, "lee@contoso.com")
    old_token = fresh_emulator.sso("lee@contoso.com")
    assert backend.context(old_token, item).status_code == 200
    assert fresh_emulator.stats()["jwksFetches"] == 1
    fresh_emulator.http.post(f"{fresh_emulator.url}/_emulator/keys/rotate").raise_for_status()
    new_token = fresh_emulator.sso("lee@contoso.com")
    assert parts(new_token)[0]["kid"] != parts(old_token)[0]["kid"]
    assert backend.context(new_token, item).status_code == 200
    assert fresh_emulator.stats()["jwksFetches"] == 2
    for _ in range(5):  # both keys are now known: no further fetches
        assert backend.context(fresh_emulator.sso("lee@contoso.com"), item).status_code == 200
        assert backend.context(old_token, item).status_code == 200
    assert fresh_emulator.stats()["jwksFetches"] == 2


def test_retired_key_stops_working(make_backend, fresh_emulator: EmulatorHandle):
    backend = make_backend(fresh_emulator)
    item = _own_item(fresh_emulator, "lee@contoso.com")
    old_token = fresh_emulator.sso("lee@contoso.com")
    assert backend.context(old_token, item).status_code == 200
    fresh_emulator.http.post(
        f"{fresh_emulator.url}/_emulator/keys/rotate", json={"retireOld": True}
    ).raise_for_status()
    # The backend still holds the old key until it refetches; the new token forces that.
    assert backend.context(fresh_emulator.sso("lee@contoso.com"), item).status_code == 200
    response = backend.context(old_token, item)
    assert response.status_code == 401
    assert response.json()["code"] == "invalid_token"


def test_a_flood_of_unknown_kids_is_one_fetch_per_cooldown(
    make_backend, fresh_emulator: EmulatorHandle, fake_clock: FakeClock
):
    backend = make_backend(fresh_emulator, clock=fake_clock)
    item = _own_item(fresh_emulator, "lee@contoso.com")
    assert backend.context(fresh_emulator.sso("lee@contoso.com"), item).status_code == 200
    start = fresh_emulator.stats()["jwksFetches"]
    for _ in range(50):
        response = backend.http.post(
            f"{backend.url}/api/items/context",
            json=item,
            headers={"Authorization": _unknown_kid(fresh_emulator)},
        )
        assert response.status_code == 401
    assert fresh_emulator.stats()["jwksFetches"] - start == 1
    # A genuine rotation inside the cool-down waits for it to pass, then works.
    fresh_emulator.http.post(f"{fresh_emulator.url}/_emulator/keys/rotate").raise_for_status()
    rotated = fresh_emulator.sso("lee@contoso.com")
    assert backend.context(rotated, item).status_code == 401
    fake_clock.now += 31
    assert backend.context(rotated, item).status_code == 200
    assert fresh_emulator.stats()["jwksFetches"] - start == 2


def test_unreachable_signing_keys_are_upstream_unavailable(
    make_backend, fresh_emulator: EmulatorHandle
):
    later = [0.0]
    backend = make_backend(fresh_emulator, clock=lambda: time.time() + later[0])
    fresh_emulator.fault(target="jwks", status=503, times=-1)
    response = backend.context(
        fresh_emulator.sso("lee@contoso.com"), _own_item(fresh_emulator, "lee@contoso.com")
    )
    assert response.status_code == 503
    assert response.json()["code"] == "upstream_unavailable"
    ready = backend.http.get(f"{backend.url}/readyz")
    assert ready.status_code == 503
    assert ready.headers["Content-Type"].startswith("application/problem+json")
    fresh_emulator.clear_faults()
    # The failure is remembered for a few seconds (a burst makes one fetch), then retried.
    assert backend.http.get(f"{backend.url}/readyz").status_code == 503
    later[0] = 6.0
    assert backend.http.get(f"{backend.url}/readyz").status_code == 200


def test_a_us_government_deployment_end_to_end(make_backend, emulator: EmulatorHandle):
    backend = make_backend(emulator, TANDEM_CLOUD="usgov")
    assert backend.settings.scopes[0].startswith("https://graph.microsoft.us/")
    item = emulator.items("support@contoso.com")[0]["id"]
    token = emulator.sso("lee@contoso.com", version=1)  # v1 issuer sts.windows.net, as in GCC High
    gcc_high = shared_body(
        item, "support@contoso.com", targetRestUrl="https://outlook.office365.us/api"
    )
    response = backend.context(token, gcc_high)
    assert response.status_code == 200, response.text
    worldwide = shared_body(item, "support@contoso.com")
    assert backend.context(token, worldwide).json()["code"] == "target_not_allowed"


def test_a_china_deployment_refuses_worldwide_v1_issuers(make_backend, emulator: EmulatorHandle):
    backend = make_backend(emulator, TANDEM_CLOUD="china")
    item = emulator.items("support@contoso.com")[0]["id"]
    body = shared_body(item, "support@contoso.com", targetRestUrl="https://partner.outlook.cn/api")
    before = emulator.stats()["tokenRequests"]
    response = backend.context(emulator.sso("lee@contoso.com", version=1), body)
    assert response.status_code == 401
    assert response.json()["code"] == "invalid_token"
    assert emulator.stats()["tokenRequests"] == before  # refused by the backend itself
    china_v1 = emulator.sso(
        "lee@contoso.com",
        version=1,
        claims={"iss": f"https://sts.chinacloudapi.cn/{seed.CONTOSO}/"},
    )
    backend.context(china_v1, body)
    # Accepted by the backend, so it reached the (worldwide) emulator's token endpoint.
    assert emulator.stats()["tokenRequests"] == before + 1
