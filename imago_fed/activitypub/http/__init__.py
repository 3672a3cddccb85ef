"""Outbound HTTP for the fediverse: one guarded, bounded, signing client.

:class:`FediClient` is what every remote call goes through; failures are
:class:`FetchError` subclasses (drawn in :mod:`.errors`); the address guard
lives in :mod:`.guard`.
"""

from .client import ACCEPT_ACTIVITY, ACCEPT_JRD, ClientLimits, FediClient, SchemeMemory, Signer
from .errors import (
    BadContentType,
    BadDocument,
    FetchError,
    FetchTimeout,
    ForbiddenAddress,
    ForbiddenUrl,
    NetworkError,
    RemoteStatus,
    ResponseTooLarge,
    TooManyRedirects,
)
from .guard import AddressPolicy, forbidden_reason

__all__ = [
    "ACCEPT_ACTIVITY",
    "ACCEPT_JRD",
    "AddressPolicy",
    "BadContentType",
    "BadDocument",
    "ClientLimits",
    "FediClient",
    "FetchError",
    "FetchTimeout",
    "ForbiddenAddress",
    "ForbiddenUrl",
    "NetworkError",
    "RemoteStatus",
    "ResponseTooLarge",
    "SchemeMemory",
    "Signer",
    "TooManyRedirects",
    "forbidden_reason",
]
