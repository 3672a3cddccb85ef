"""Tests for HTTP signatures (draft-cavage-12 and RFC 9421).

Besides round trips through our own signer, some requests are signed by
hand here (building the signing string line by line), so that the verifier
is checked against what Mastodon or Fedify would send rather than only
against itself; and the expected signing strings and bases are spelled out
literally.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa
from hypothesis import given, settings
from hypothesis import strategies as st

from imago_fed.activitypub.signatures import (
    InvalidSignature,
    MalformedSignature,
    MissingSignature,
    SignatureScheme,
    StaleSignature,
    check_content_digest,
    check_digest,
    make_content_digest,
    make_digest,
    parse_signed_request,
    sign_request_cavage,
    sign_request_rfc9421,
)

KEY_ID = "https://remote.example/users/alice#main-key"
NOW = datetime(2025, 3, 1, 12, 0, 0, tzinfo=UTC)
NOW_HTTP = "Sat, 01 Mar 2025 12:00:00 GMT"
INBOX = "https://groups.example/groups/g/inbox"
OUTBOX_PAGE = "https://groups.example/groups/g/outbox?page=2"
BODY = b'{"type":"Follow","actor":"https://remote.example/users/alice"}'
BODY_SHA256 = "WAyuz8VT6TN/JbuNXRFisJtq8Lri2Odd45aP8mr77NY="  # from `openssl dgst -sha256`

Signer = Callable[..., dict[str, str]]
SCHEMES = pytest.mark.parametrize(
    ("sign", "scheme"),
    [
        (sign_request_cavage, SignatureScheme.CAVAGE),
        (sign_request_rfc9421, SignatureScheme.RFC9421),
    ],
    ids=["cavage", "rfc9421"],
)
REQUESTS = pytest.mark.parametrize(
    ("method", "url", "body"),
    [("GET", OUTBOX_PAGE, None), ("POST", INBOX, BODY)],
    ids=["GET", "POST"],
)


@pytest.fixture(scope="module")
def key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def other_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def signed_headers(
    sign: Signer,
    key: rsa.RSAPrivateKey,
    method: str,
    url: str,
    body: bytes | None,
    *,
    at: datetime = NOW,
) -> dict[str, str]:
    """The full header set a client would send: its own headers plus the signer's."""
    base = {"Accept": "application/activity+json", "User-Agent": "test/1.0"}
    if body is not None:
        base["Content-Type"] = "application/activity+json"
    return {**base, **sign(method, url, base, body, KEY_ID, key, at)}


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def hand_signed_cavage(
    key: rsa.RSAPrivateKey,
    method: str,
    target: str,
    headers: dict[str, str],
    covered: list[str],
    *,
    algorithm: str | None = "rsa-sha256",
    extra_params: dict[str, str] | None = None,
) -> dict[str, str]:
    """Sign like another server would, building the signing string by hand."""
    extra_params = extra_params or {}
    lower = {name.lower(): value for name, value in headers.items()}
    lines = []
    for name in covered:
        if name == "(request-target)":
            lines.append(f"(request-target): {method.lower()} {target}")
        elif name in ("(created)", "(expires)"):
            lines.append(f"{name}: {extra_params[name[1:-1]]}")
        else:
            lines.append(f"{name}: {lower[name]}")
    signature = key.sign("\n".join(lines).encode(), padding.PKCS1v15(), hashes.SHA256())
    params = [f'keyId="{KEY_ID}"']
    if algorithm is not None:
        params.append(f'algorithm="{algorithm}"')
    params += [f'{name}="{value}"' for name, value in extra_params.items()]
    params += [f'headers="{" ".join(covered)}"', f'signature="{b64(signature)}"']
    return {**headers, "Signature": ",".join(params)}


def post_headers(body: bytes = BODY) -> dict[str, str]:
    return {
        "Host": "groups.example",
        "Date": NOW_HTTP,
        "Digest": make_digest(body),
        "Content-Type": "application/activity+json",
    }


# --- round trips ----------------------------------------------------------------------


@SCHEMES
@REQUESTS
def test_round_trip(
    key: rsa.RSAPrivateKey,
    sign: Signer,
    scheme: SignatureScheme,
    method: str,
    url: str,
    body: bytes | None,
) -> None:
    headers = signed_headers(sign, key, method, url, body)
    request = parse_signed_request(method, url, headers, now=NOW + timedelta(seconds=3))
    assert request.scheme is scheme
    assert request.key_id == KEY_ID
    assert request.created == NOW
    request.verify(key.public_key(), body)


@SCHEMES
def test_header_names_are_case_insensitive(
    key: rsa.RSAPrivateKey, sign: Signer, scheme: SignatureScheme
) -> None:
    headers = signed_headers(sign, key, "POST", INBOX, BODY)
    raw_pairs = [(name.lower().encode(), value.encode()) for name, value in headers.items()]
    shouted = {name.upper(): value for name, value in headers.items()}
    for variant in (raw_pairs, shouted):
        request = parse_signed_request("post", INBOX, variant, now=NOW)
        assert request.scheme is scheme
        request.verify(key.public_key(), BODY)


# --- refusals: forged, tampered, wrong key ----------------------------------------------


def flip_bit_in_signature(headers: dict[str, str], scheme: SignatureScheme) -> dict[str, str]:
    value = headers["Signature"]
    if scheme is SignatureScheme.CAVAGE:
        head, _, rest = value.partition('signature="')
        head, encoded, tail = head + 'signature="', rest.removesuffix('"'), '"'
    else:
        head, encoded, tail = "sig1=:", value.removeprefix("sig1=:").removesuffix(":"), ":"
    raw = bytearray(base64.b64decode(encoded))
    raw[len(raw) // 2] ^= 0x01
    return {**headers, "Signature": f"{head}{b64(bytes(raw))}{tail}"}


@SCHEMES
@REQUESTS
def test_forged_signature_refused(
    key: rsa.RSAPrivateKey,
    sign: Signer,
    scheme: SignatureScheme,
    method: str,
    url: str,
    body: bytes | None,
) -> None:
    headers = flip_bit_in_signature(signed_headers(sign, key, method, url, body), scheme)
    request = parse_signed_request(method, url, headers, now=NOW)
    with pytest.raises(InvalidSignature):
        request.verify(key.public_key(), body)


@SCHEMES
def test_tampered_body_refused(
    key: rsa.RSAPrivateKey, sign: Signer, scheme: SignatureScheme
) -> None:
    headers = signed_headers(sign, key, "POST", INBOX, BODY)
    request = parse_signed_request("POST", INBOX, headers, now=NOW)
    with pytest.raises(InvalidSignature, match=r"[Dd]igest"):
        request.verify(key.public_key(), BODY.replace(b"Follow", b"Delete"))


@SCHEMES
@REQUESTS
def test_wrong_key_refused(
    key: rsa.RSAPrivateKey,
    other_key: rsa.RSAPrivateKey,
    sign: Signer,
    scheme: SignatureScheme,
    method: str,
    url: str,
    body: bytes | None,
) -> None:
    headers = signed_headers(sign, key, method, url, body)
    request = parse_signed_request(method, url, headers, now=NOW)
    with pytest.raises(InvalidSignature):
        request.verify(other_key.public_key(), body)


@SCHEMES
def test_other_target_refused(
    key: rsa.RSAPrivateKey, sign: Signer, scheme: SignatureScheme
) -> None:
    headers = signed_headers(sign, key, "POST", INBOX, BODY)
    elsewhere = "https://groups.example/groups/other/inbox"
    request = parse_signed_request("POST", elsewhere, headers, now=NOW)
    with pytest.raises(InvalidSignature):
        request.verify(key.public_key(), BODY)


@SCHEMES
def test_non_rsa_key_refused(key: rsa.RSAPrivateKey, sign: Signer, scheme: SignatureScheme) -> None:
    headers = signed_headers(sign, key, "POST", INBOX, BODY)
    request = parse_signed_request("POST", INBOX, headers, now=NOW)
    with pytest.raises(InvalidSignature, match="RSA"):
        request.verify(ed25519.Ed25519PrivateKey.generate().public_key(), BODY)


@SCHEMES
def test_get_with_uncovered_body_refused(
    key: rsa.RSAPrivateKey, sign: Signer, scheme: SignatureScheme
) -> None:
    headers = signed_headers(sign, key, "GET", OUTBOX_PAGE, None)
    request = parse_signed_request("GET", OUTBOX_PAGE, headers, now=NOW)
    request.verify(key.public_key(), b"")
    with pytest.raises(InvalidSignature, match="body"):
        request.verify(key.public_key(), b"smuggled")


# --- time window ----------------------------------------------------------------------


@SCHEMES
@pytest.mark.parametrize(
    ("age", "accepted"),
    [
        (timedelta(hours=-2), False),  # signed two hours in the future
        (timedelta(minutes=-61), False),
        (timedelta(minutes=-59), True),
        (timedelta(0), True),
        (timedelta(minutes=60), True),
        (timedelta(minutes=64), True),
        (timedelta(minutes=66), False),
        (timedelta(hours=2), False),
    ],
)
def test_time_window(
    key: rsa.RSAPrivateKey, sign: Signer, scheme: SignatureScheme, age: timedelta, accepted: bool
) -> None:
    headers = signed_headers(sign, key, "POST", INBOX, BODY, at=NOW)
    if accepted:
        parse_signed_request("POST", INBOX, headers, now=NOW + age).verify(key.public_key(), BODY)
    else:
        with pytest.raises(StaleSignature):
            parse_signed_request("POST", INBOX, headers, now=NOW + age)


def test_covered_expires_extends_window(key: rsa.RSAPrivateKey) -> None:
    created = int((NOW - timedelta(hours=2)).timestamp())
    expires = int((NOW + timedelta(minutes=10)).timestamp())
    covered = ["(request-target)", "host", "(created)", "(expires)", "digest"]
    params = {"created": str(created), "expires": str(expires)}
    headers = hand_signed_cavage(
        key,
        "POST",
        "/groups/g/inbox",
        post_headers(),
        covered,
        algorithm="hs2019",
        extra_params=params,
    )
    parse_signed_request("POST", INBOX, headers, now=NOW).verify(key.public_key(), BODY)
    # Without (expires) covered, the same parameter cannot stretch the window.
    covered.remove("(expires)")
    headers = hand_signed_cavage(
        key,
        "POST",
        "/groups/g/inbox",
        post_headers(),
        covered,
        algorithm="hs2019",
        extra_params=params,
    )
    with pytest.raises(StaleSignature):
        parse_signed_request("POST", INBOX, headers, now=NOW)


def test_naive_now_rejected(key: rsa.RSAPrivateKey) -> None:
    headers = signed_headers(sign_request_cavage, key, "POST", INBOX, BODY)
    with pytest.raises(ValueError, match="timezone"):
        parse_signed_request("POST", INBOX, headers, now=NOW.replace(tzinfo=None))
    with pytest.raises(ValueError, match="timezone"):
        sign_request_rfc9421("GET", INBOX, {}, None, KEY_ID, key, NOW.replace(tzinfo=None))


# --- cavage coverage rules ------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "covered", "message"),
    [
        ("POST", ["(request-target)", "host", "date"], "digest on POST"),
        ("GET", ["(request-target)", "date"], "host on GET"),
        ("POST", ["(request-target)", "host", "digest"], "date or \\(created\\)"),
        ("GET", ["host", "date"], "\\(request-target\\) or digest"),
    ],
)
def test_cavage_insufficient_coverage_refused(
    key: rsa.RSAPrivateKey, method: str, covered: list[str], message: str
) -> None:
    headers = hand_signed_cavage(key, method, "/groups/g/inbox", post_headers(), covered)
    with pytest.raises(InvalidSignature, match=message):
        parse_signed_request(method, INBOX, headers, now=NOW)


def test_cavage_query_with_and_without_in_request_target(key: rsa.RSAPrivateKey) -> None:
    headers = {"Host": "groups.example", "Date": NOW_HTTP, "Accept": "application/activity+json"}
    covered = ["(request-target)", "host", "date", "accept"]
    for target in ("/groups/g/outbox?page=2", "/groups/g/outbox"):  # Mastodon, Fedify
        signed = hand_signed_cavage(key, "GET", target, headers, covered)
        parse_signed_request("GET", OUTBOX_PAGE, signed, now=NOW).verify(key.public_key())
    # Our signer does both too.
    for include_query in (True, False):
        signed = sign_request_cavage(
            "GET", OUTBOX_PAGE, {}, None, KEY_ID, key, NOW, include_query=include_query
        )
        parse_signed_request("GET", OUTBOX_PAGE, signed, now=NOW).verify(key.public_key())
    # But a different query is not the same request.
    signed = hand_signed_cavage(key, "GET", "/groups/g/outbox?page=3", headers, covered)
    request = parse_signed_request("GET", OUTBOX_PAGE, signed, now=NOW)
    with pytest.raises(InvalidSignature):
        request.verify(key.public_key())


def test_cavage_fedify_style_post(key: rsa.RSAPrivateKey) -> None:
    """Fedify covers every header it sends, and the path without the query."""
    headers = {**post_headers(), "Accept": "application/activity+json", "User-Agent": "Fedify"}
    covered = ["(request-target)", *(name.lower() for name in headers)]
    signed = hand_signed_cavage(key, "POST", "/groups/g/inbox", headers, covered)
    url = INBOX + "?via=fedify"
    parse_signed_request("POST", url, signed, now=NOW).verify(key.public_key(), BODY)


@pytest.mark.parametrize("algorithm", ["hs2019", "HS2019", None])
def test_cavage_hs2019_accepted(key: rsa.RSAPrivateKey, algorithm: str | None) -> None:
    covered = ["(request-target)", "host", "date", "digest"]
    headers = hand_signed_cavage(
        key, "POST", "/groups/g/inbox", post_headers(), covered, algorithm=algorithm
    )
    request = parse_signed_request("POST", INBOX, headers, now=NOW)
    assert request.scheme is SignatureScheme.CAVAGE
    request.verify(key.public_key(), BODY)


def test_cavage_hs2019_with_created(key: rsa.RSAPrivateKey) -> None:
    covered = ["(request-target)", "(created)", "host", "digest"]
    headers = {k: v for k, v in post_headers().items() if k != "Date"}
    params = {"created": str(int(NOW.timestamp()))}
    signed = hand_signed_cavage(
        key, "POST", "/groups/g/inbox", headers, covered, algorithm="hs2019", extra_params=params
    )
    request = parse_signed_request("POST", INBOX, signed, now=NOW + timedelta(minutes=30))
    assert request.created == NOW
    request.verify(key.public_key(), BODY)


def test_cavage_unsupported_algorithm_refused(key: rsa.RSAPrivateKey) -> None:
    covered = ["(request-target)", "host", "date", "digest"]
    headers = hand_signed_cavage(
        key, "POST", "/groups/g/inbox", post_headers(), covered, algorithm="hmac-sha256"
    )
    with pytest.raises(InvalidSignature, match="algorithm"):
        parse_signed_request("POST", INBOX, headers, now=NOW)


# --- malformed ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "signature",
    [
        "",
        "garbage",
        'keyId="k",signature="abc=" trailing',
        'keyId="k",,signature="AAAA"',
        'keyId="unterminated,signature="AAAA"',
        'keyId="k",keyId="k2",headers="(request-target) host date digest",signature="AAAA"',
        'headers="(request-target) host date digest",signature="AAAA"',  # no keyId
        'keyId="k",headers="(request-target) host date digest"',  # no signature
        'keyId="k",headers="(request-target) host date digest",signature="not base64!"',
        'keyId="k",headers="(request-target) (created) host digest",signature="AAAA"',
        'keyId="k",algorithm="rsa-sha256",created="1",'
        'headers="(request-target) (created) host digest",signature="AAAA"',
        'keyId="k",headers="(request-target) (nonsense) host date digest",signature="AAAA"',
    ],
)
def test_cavage_malformed_refused(signature: str) -> None:
    headers = {**post_headers(), "Signature": signature}
    with pytest.raises(MalformedSignature):
        parse_signed_request("POST", INBOX, headers, now=NOW)


def test_cavage_covering_an_absent_header_is_invalid() -> None:
    signature = 'keyId="k",headers="(request-target) host date digest x-absent",signature="AAAA"'
    with pytest.raises(InvalidSignature, match="x-absent"):
        parse_signed_request("POST", INBOX, {**post_headers(), "Signature": signature}, now=NOW)


def test_cavage_bad_date_is_malformed(key: rsa.RSAPrivateKey) -> None:
    headers = {**post_headers(), "Date": "yesterday-ish"}
    covered = ["(request-target)", "host", "date", "digest"]
    signed = hand_signed_cavage(key, "POST", "/groups/g/inbox", headers, covered)
    with pytest.raises(MalformedSignature, match="Date"):
        parse_signed_request("POST", INBOX, signed, now=NOW)


@pytest.mark.parametrize(
    "extra",
    [
        {"Signature-Input": "sig1=(", "Signature": "sig1=:AAAA:"},
        {"Signature-Input": 'sig1=("@method");created=1;keyid="k"'},  # no Signature
        {"Signature-Input": 'sig1=("@method");created=1', "Signature": "sig1=:AAAA:"},
        {"Signature-Input": 'sig1=("@method");created=1;keyid="k"', "Signature": "sig2=:AAAA:"},
        {"Signature-Input": 'sig1=("@method");created="1";keyid="k"', "Signature": "sig1=:AAAA:"},
        {"Signature-Input": 'sig1="@method";created=1;keyid="k"', "Signature": "sig1=:AAAA:"},
    ],
)
def test_rfc9421_malformed_refused(extra: dict[str, str]) -> None:
    with pytest.raises(MalformedSignature):
        parse_signed_request("POST", INBOX, {"Host": "groups.example", **extra}, now=NOW)


def test_unsigned_request() -> None:
    with pytest.raises(MissingSignature):
        parse_signed_request("GET", INBOX, {"Host": "groups.example"}, now=NOW)
    assert issubclass(MissingSignature, InvalidSignature)


def test_relative_url_is_a_caller_error(key: rsa.RSAPrivateKey) -> None:
    headers = signed_headers(sign_request_cavage, key, "POST", INBOX, BODY)
    with pytest.raises(ValueError, match="absolute"):
        parse_signed_request("POST", "/groups/g/inbox", headers, now=NOW)


# --- RFC 9421 policy ------------------------------------------------------------------


def rfc9421_headers(
    key: rsa.RSAPrivateKey, method: str, url: str, components: list[str], *, created: int
) -> dict[str, str]:
    """Sign by hand: the signature base of RFC 9421 section 2.5, written out."""
    values = {
        "@method": method,
        "@target-uri": url,
        "@authority": "groups.example",
        "content-digest": make_content_digest(BODY),
    }
    inner = " ".join(f'"{c}"' for c in components)
    params = f'({inner});created={created};keyid="{KEY_ID}"'
    lines = [f'"{c}": {values[c]}' for c in components] + [f'"@signature-params": {params}']
    signature = key.sign("\n".join(lines).encode(), padding.PKCS1v15(), hashes.SHA256())
    return {
        "Host": "groups.example",
        "Content-Digest": values["content-digest"],
        "Signature-Input": f"sig1={params}",
        "Signature": f"sig1=:{b64(signature)}:",
    }


def test_rfc9421_hand_signed_accepted(key: rsa.RSAPrivateKey) -> None:
    components = ["@method", "@target-uri", "@authority", "content-digest"]
    headers = rfc9421_headers(key, "POST", INBOX, components, created=int(NOW.timestamp()))
    request = parse_signed_request("POST", INBOX, headers, now=NOW)
    assert request.scheme is SignatureScheme.RFC9421
    request.verify(key.public_key(), BODY)


@pytest.mark.parametrize(
    ("method", "components", "message"),
    [
        ("POST", ["@method", "@target-uri"], "content-digest"),
        ("GET", ["@method", "@authority"], "@target-uri"),
        ("GET", ["@target-uri"], "@method"),
    ],
)
def test_rfc9421_insufficient_coverage_refused(
    key: rsa.RSAPrivateKey, method: str, components: list[str], message: str
) -> None:
    headers = rfc9421_headers(key, method, INBOX, components, created=int(NOW.timestamp()))
    with pytest.raises(InvalidSignature, match=message):
        parse_signed_request(method, INBOX, headers, now=NOW)


def test_rfc9421_requires_created_and_one_signature(key: rsa.RSAPrivateKey) -> None:
    headers = signed_headers(sign_request_rfc9421, key, "POST", INBOX, BODY)
    no_created = {
        **headers,
        "Signature-Input": headers["Signature-Input"].replace(
            f";created={int(NOW.timestamp())}", ""
        ),
    }
    with pytest.raises(InvalidSignature, match="created"):
        parse_signed_request("POST", INBOX, no_created, now=NOW)
    label_value = headers["Signature-Input"].removeprefix("sig1=")
    signature_value = headers["Signature"].removeprefix("sig1=")
    two = {
        **headers,
        "Signature-Input": f"sig1={label_value}, sig2={label_value}",
        "Signature": f"sig1={signature_value}, sig2={signature_value}",
    }
    with pytest.raises(InvalidSignature, match="exactly one"):
        parse_signed_request("POST", INBOX, two, now=NOW)


def test_rfc9421_other_algorithm_refused(key: rsa.RSAPrivateKey) -> None:
    headers = signed_headers(sign_request_rfc9421, key, "POST", INBOX, BODY)
    headers["Signature-Input"] += ';alg="rsa-pss-sha512"'
    with pytest.raises(InvalidSignature, match="algorithm"):
        parse_signed_request("POST", INBOX, headers, now=NOW)


# --- literal cross-checks -------------------------------------------------------------


def test_cavage_signing_string_literal(key: rsa.RSAPrivateKey) -> None:
    url = "https://groups.example/groups/g/inbox?page=2"
    added = sign_request_cavage("POST", url, {}, BODY, KEY_ID, key, NOW)
    assert added["Host"] == "groups.example"
    assert added["Date"] == "Sat, 01 Mar 2025 12:00:00 GMT"
    assert added["Digest"] == "SHA-256=" + BODY_SHA256
    expected = (
        "(request-target): post /groups/g/inbox?page=2\n"
        "host: groups.example\n"
        "date: Sat, 01 Mar 2025 12:00:00 GMT\n"
        "digest: SHA-256=WAyuz8VT6TN/JbuNXRFisJtq8Lri2Odd45aP8mr77NY="
    )
    prefix = (
        'keyId="https://remote.example/users/alice#main-key",algorithm="rsa-sha256",'
        'headers="(request-target) host date digest",signature="'
    )
    assert added["Signature"].startswith(prefix)
    signature = base64.b64decode(added["Signature"][len(prefix) : -1])
    key.public_key().verify(signature, expected.encode(), padding.PKCS1v15(), hashes.SHA256())


def test_rfc9421_signature_base_literal(key: rsa.RSAPrivateKey) -> None:
    added = sign_request_rfc9421("POST", INBOX, {}, BODY, KEY_ID, key, NOW)
    params = (
        '("@method" "@target-uri" "content-digest");created=1740830400;'
        'keyid="https://remote.example/users/alice#main-key"'
    )
    assert added["Content-Digest"] == f"sha-256=:{BODY_SHA256}:"
    assert added["Signature-Input"] == f"sig1={params}"
    expected = (
        '"@method": POST\n'
        '"@target-uri": https://groups.example/groups/g/inbox\n'
        f'"content-digest": sha-256=:{BODY_SHA256}:\n'
        f'"@signature-params": {params}'
    )
    signature = base64.b64decode(added["Signature"].removeprefix("sig1=:").removesuffix(":"))
    key.public_key().verify(signature, expected.encode(), padding.PKCS1v15(), hashes.SHA256())


# --- digests --------------------------------------------------------------------------


def test_digest_helpers() -> None:
    assert make_digest(b"") == "SHA-256=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
    check_digest("sha-256=" + BODY_SHA256, BODY)
    check_digest(f"SHA-512=abc, SHA-256={BODY_SHA256}", BODY)
    check_content_digest(f"sha-512=:AAAA:, sha-256=:{BODY_SHA256}:", BODY)
    for bad in ("SHA-512=" + BODY_SHA256, "SHA-256=!!", "SHA-256=AAAA", "garbage"):
        with pytest.raises(InvalidSignature):
            check_digest(bad, BODY)
    for bad in (
        f"sha-512=:{BODY_SHA256}:",
        "sha-256=:AAAA:",
        "sha-256=(",
        f"sha-256={BODY_SHA256}",
    ):
        with pytest.raises(InvalidSignature):
            check_content_digest(bad, BODY)


# --- property: any single-byte change of the body is caught ---------------------------


@pytest.fixture(scope="module")
def signed_posts(key: rsa.RSAPrivateKey) -> dict[SignatureScheme, dict[str, str]]:
    return {
        SignatureScheme.CAVAGE: signed_headers(sign_request_cavage, key, "POST", INBOX, BODY),
        SignatureScheme.RFC9421: signed_headers(sign_request_rfc9421, key, "POST", INBOX, BODY),
    }


@pytest.mark.parametrize("scheme", list(SignatureScheme))
@settings(max_examples=60, deadline=None)
@given(position=st.integers(0, len(BODY) - 1), delta=st.integers(1, 255))
def test_any_single_byte_change_breaks_verification(
    key: rsa.RSAPrivateKey,
    signed_posts: dict[SignatureScheme, dict[str, str]],
    scheme: SignatureScheme,
    position: int,
    delta: int,
) -> None:
    request = parse_signed_request("POST", INBOX, signed_posts[scheme], now=NOW)
    request.verify(key.public_key(), BODY)
    changed = bytearray(BODY)
    changed[position] = (changed[position] + delta) % 256
    with pytest.raises(InvalidSignature):
        request.verify(key.public_key(), bytes(changed))
