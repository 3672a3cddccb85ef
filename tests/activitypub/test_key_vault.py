"""The key vault gives back a working key, and only for what it sealed itself.

Unsealing skips the RSA consistency checks (they cost ~90 ms a key); that is
safe only because AES-GCM authenticates the sealed PEM, which these tests pin.
"""

import pytest
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from imago_fed.activitypub.keys import KeyVault


def _pem(key: rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def test_unsealed_key_signs_what_the_public_key_verifies() -> None:
    vault = KeyVault(b"0123456789abcdef0123456789abcdef")
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    unsealed = vault.unseal(vault.seal(_pem(key)))
    signature = unsealed.sign(b"message", padding.PKCS1v15(), hashes.SHA256())
    key.public_key().verify(signature, b"message", padding.PKCS1v15(), hashes.SHA256())


def test_tampered_or_foreign_seal_is_refused() -> None:
    vault = KeyVault(b"0123456789abcdef0123456789abcdef")
    sealed = vault.seal(_pem(rsa.generate_private_key(public_exponent=65537, key_size=2048)))
    tampered = sealed[:-40] + bytes([sealed[-40] ^ 1]) + sealed[-39:]
    with pytest.raises(InvalidTag):
        vault.unseal(tampered)
    with pytest.raises(InvalidTag):
        KeyVault(b"another secret of sixteen bytes+").unseal(sealed)
