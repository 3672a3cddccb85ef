"""Signing keys: generation, and encryption of private keys at rest.

The crypto adapter behind the ``KeyPairFactory`` port: the keys are the ones
ActivityPub HTTP signatures use, so they live with that adapter.

Every group gets an RSA-2048 key pair when it is created (the key ActivityPub
HTTP signatures use). The private key is sealed with AES-256-GCM under a key
derived from the instance secret before it reaches the database, so a dump of
the database alone does not let anyone sign as our groups.

The instance secret is ``[instance] secret_key`` when set, otherwise a random
one kept in ``<data_dir>/secret_key`` (mode 0600), made on first use.
"""

from __future__ import annotations

import asyncio
import os
import secrets
from pathlib import Path

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from imago_fed.config import Settings
from imago_fed.domain.groups import KeyPair

__all__ = ["KeyVault", "RsaKeyPairFactory", "instance_secret"]

_SEAL_VERSION = b"\x01"
_AAD = b"imago-fed private key v1"


def instance_secret(settings: Settings) -> bytes:
    """The configured secret, or the one in the data directory (created if absent)."""
    if settings.instance.secret_key:
        return settings.instance.secret_key.value.encode()
    path = Path(settings.instance.data_dir) / "secret_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_hex(32) + "\n")
    return path.read_text().strip().encode()


class KeyVault:
    """Seals and unseals private keys with a key derived from the instance secret."""

    def __init__(self, secret: bytes) -> None:
        if len(secret) < 16:
            raise ValueError("the instance secret must be at least 16 bytes")
        derived = HKDF(
            algorithm=hashes.SHA256(), length=32, salt=None, info=b"imago-fed key vault"
        ).derive(secret)
        self._aead = AESGCM(derived)

    def __repr__(self) -> str:
        return "KeyVault(***)"

    def seal(self, private_pem: bytes) -> bytes:
        nonce = secrets.token_bytes(12)
        return _SEAL_VERSION + nonce + self._aead.encrypt(nonce, private_pem, _AAD)

    def unseal(self, sealed: bytes) -> rsa.RSAPrivateKey:
        if sealed[:1] != _SEAL_VERSION:
            raise ValueError("unknown sealed key format")
        pem = self._aead.decrypt(sealed[1:13], sealed[13:], _AAD)
        # The RSA consistency checks cost ~90 ms a key (most of a fan-out's first
        # claim); they guard against malformed keys from elsewhere, and this PEM
        # can only be one we made and sealed: AES-GCM authenticated it above.
        key = serialization.load_pem_private_key(
            pem, password=None, unsafe_skip_rsa_key_validation=True
        )
        if not isinstance(key, rsa.RSAPrivateKey):
            raise ValueError("sealed key is not an RSA key")
        return key


class RsaKeyPairFactory:
    """Makes RSA-2048 key pairs off the event loop (generation takes ~100 ms)."""

    def __init__(self, vault: KeyVault) -> None:
        self._vault = vault

    async def new_keypair(self) -> KeyPair:
        return await asyncio.to_thread(self._generate)

    def _generate(self) -> KeyPair:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        public_pem = key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        private_pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        return KeyPair(public_pem=public_pem.decode(), sealed_private=self._vault.seal(private_pem))
