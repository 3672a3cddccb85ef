"""Configuration: one TOML file, every key overridable by an ``IMAGO_*`` variable.

Why a hand-written loader instead of a settings framework: the rules are few
and must be exact. Every key has one home (``[section] key``) and one
environment name (``IMAGO_SECTION_KEY``); an unknown key or variable is an
error, not a silent typo; every problem names the key it is about, so an
admin who mistyped ``pool_max`` reads ``[database] pool_max`` in the message.

Secrets are wrapped in :class:`Secret`, whose ``repr`` never shows the value,
so a settings object can be logged or printed in a traceback safely.

    file (--config / IMAGO_CONFIG / ./config/imago.toml)
      └─> merged with IMAGO_* environment ─> checked per field ─> Settings
"""

from __future__ import annotations

import dataclasses
import ipaddress
import os
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

__all__ = [
    "DEFAULT_CONFIG_PATH",
    "ConfigError",
    "Secret",
    "Settings",
    "env_name",
    "load_settings",
]

ENV_PREFIX = "IMAGO_"
CONFIG_ENV = "IMAGO_CONFIG"
DEFAULT_CONFIG_PATH = Path("config/imago.toml")
# Variables under this prefix belong to the test suite, not to the server.
_IGNORED_ENV_PREFIXES = ("IMAGO_TEST_",)


class ConfigError(Exception):
    """The configuration cannot be used; ``problems`` lists every reason."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("invalid configuration:\n  " + "\n  ".join(problems))


@dataclass(frozen=True)
class Secret:
    """A string that must not appear in logs, reprs or error messages."""

    value: str

    def __repr__(self) -> str:
        return "Secret('***')" if self.value else "Secret('')"

    __str__ = __repr__

    def __bool__(self) -> bool:
        return bool(self.value)


# ----------------------------------------------------------------- checks
Check = Callable[[Any], str | None]


def _one_of(*choices: str) -> Check:
    def check(value: Any) -> str | None:
        return None if value in choices else f"must be one of {', '.join(choices)}"

    return check


def _int_range(low: int, high: int) -> Check:
    def check(value: Any) -> str | None:
        return None if low <= value <= high else f"must be between {low} and {high}"

    return check


def _domain(value: Any) -> str | None:
    host, _, port = value.partition(":")
    if not host or any(c in value for c in "/@?# ") or value != value.lower():
        return "must be a lower-case host name, optionally with :port (no scheme, no path)"
    if port and not (port.isdigit() and 0 < int(port) < 65536):
        return "has an invalid port"
    return None


def _listen(value: Any) -> str | None:
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) < 65536 or not host:
        return "must be HOST:PORT, for example 127.0.0.1:8080 or [::1]:8080"
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        if host != "localhost":
            return "host must be an IP address or localhost"
    return None


def _database_url(value: Any) -> str | None:
    if value and urlsplit(value).scheme not in ("postgresql", "postgres"):
        return "must be empty (embedded PostgreSQL) or a postgresql:// URL"
    return None


def _http_url(value: Any) -> str | None:
    if value and urlsplit(value).scheme not in ("http", "https"):
        return "must be empty or an http(s):// URL"
    return None


def _admin_token(value: Any) -> str | None:
    if not value.value:
        return "is required: set it in the config file or environment (imago-fed init makes one)"
    if len(value.value) < 16:
        return "must be at least 16 characters long"
    return None


def _prefix(value: Any) -> str | None:
    ok = value and all(c.islower() or c.isdigit() or c in "_-." for c in value)
    return None if ok else "must be lower-case letters, digits, '_', '-' or '.'"


def _domain_name(value: Any) -> str | None:
    labels = str(value).split(".")
    ok = len(labels) > 1 and all(
        label and len(label) <= 63 and all(c.isalnum() or c == "-" for c in label)
        for label in labels
    )
    return None if ok else "must be a domain name such as meet.example.org"


def _split_users(value: str) -> list[str]:
    return [user for user in value.replace(",", " ").split() if user]


def _matrix_users(value: Any) -> str | None:
    for user in _split_users(value):
        local, sep, server = user[1:].partition(":")
        if not user.startswith("@") or not sep or not local or not server:
            return f"must list Matrix user ids such as @ann:example.org, not {user!r}"
    return None


def _opt(default: Any, check: Check | None = None, doc: str = "") -> Any:
    return field(default=default, metadata={"check": check, "doc": doc})


# --------------------------------------------------------------- sections
@dataclass(frozen=True)
class InstanceSettings:
    domain: str = _opt("localhost:8080", _domain, "public host (and port) in actor ids")
    scheme: str = _opt("https", _one_of("https", "http"), "public URL scheme")
    admin_token: Secret = _opt(Secret(""), _admin_token, "bearer token for /api/v1")
    secret_key: Secret = _opt(Secret(""), None, "encrypts keys at rest; empty: data_dir file")
    data_dir: Path = _opt(Path("data"), None, "embedded database and instance secret")

    @property
    def base_url(self) -> str:
        return f"{self.scheme}://{self.domain}"


@dataclass(frozen=True)
class HttpSettings:
    listen: str = _opt("127.0.0.1:8080", _listen, "address the server binds")
    graceful_timeout: int = _opt(15, _int_range(0, 600), "seconds to finish requests on stop")
    max_body_bytes: int = _opt(1_048_576, _int_range(1024, 64 * 1_048_576), "request body cap")
    tls_cert: Path = _opt(Path(""), None, "PEM certificate: serve https directly (optional)")
    tls_key: Path = _opt(Path(""), None, "PEM private key of tls_cert")

    @property
    def tls(self) -> bool:
        return self.tls_cert != Path("")


@dataclass(frozen=True)
class ServeSettings:
    workers: int = _opt(
        0, _int_range(0, 256), "serving processes on the one port; 0: one per CPU core"
    )
    deliver_from_every_process: bool = _opt(
        True, None, "every serving process runs a delivery worker (the other workers: the first)"
    )


@dataclass(frozen=True)
class DatabaseSettings:
    url: Secret = _opt(Secret(""), lambda v: _database_url(v.value), "empty: embedded server")
    pool_min: int = _opt(1, _int_range(0, 100))
    pool_max: int = _opt(10, _int_range(1, 500))


@dataclass(frozen=True)
class FederationSettings:
    allow_http: bool = _opt(False, None, "fetch/deliver over plain http (local tests only)")
    allow_private_addresses: bool = _opt(False, None, "reach loopback/private IPs (tests only)")
    workers_in_serve: bool = _opt(True, None, "run inbox and delivery workers inside serve")
    inbox_lease_seconds: int = _opt(
        300, _int_range(5, 86_400), "a claimed inbound activity comes back after this long"
    )
    delivery_lease_seconds: int = _opt(
        120, _int_range(5, 86_400), "a claimed delivery comes back after this long"
    )


@dataclass(frozen=True)
class MatrixSettings:
    enabled: bool = _opt(False)
    homeserver_url: str = _opt("", _http_url, "client-server API base URL")
    server_name: str = _opt("", None, "the homeserver's server name")
    as_token: Secret = _opt(Secret(""), None, "token we present to the homeserver")
    hs_token: Secret = _opt(Secret(""), None, "token the homeserver presents to us")
    namespace_prefix: str = _opt("_imago_", _prefix, "prefix of puppet users and aliases")
    appservice_id: str = _opt("imago", _prefix, "the registration's id")
    bot_localpart: str = _opt("imago", _prefix, "the bridge bot's localpart (sender_localpart)")
    call_domain: str = _opt("meet.jit.si", _domain_name, "Jitsi server of assembly calls")
    admins: str = _opt("", _matrix_users, "Matrix users who see health")

    @property
    def admin_ids(self) -> frozenset[str]:
        """The ``admins`` setting as a set of Matrix user ids."""
        return frozenset(_split_users(self.admins))


def _listen_or_empty(value: Any) -> str | None:
    return None if value == "" else _listen(value)


def _slug_or_empty(value: Any) -> str | None:
    ok = not value or (value[0].isalnum() and all(c.isalnum() or c in "_-" for c in value))
    return None if ok and value == value.lower() else "must be empty or a group's slug"


def _currency(value: Any) -> str | None:
    ok = len(value) == 3 and value.isascii() and value.isalpha() and value.isupper()
    return None if ok else "must be a three-letter ISO 4217 code such as EUR"


def _http_url_or_empty(value: Any) -> str | None:
    return None if value == "" else _http_url(value)


@dataclass(frozen=True)
class MediaSettings:
    dir: Path = _opt(Path(""), None, "where the media files are kept; empty: <data_dir>/media")
    max_image_bytes: int = _opt(10 * 1_048_576, _int_range(1024, 1024 * 1_048_576))
    max_av_bytes: int = _opt(40 * 1_048_576, _int_range(1024, 4096 * 1_048_576))
    max_pixels: int = _opt(40_000_000, _int_range(1, 1_000_000_000), "decompression bomb cap")
    remote_days: int = _opt(30, _int_range(0, 36500), "days a copy of others' files is kept")
    storage: str = _opt("disk", _one_of("disk", "s3"), "disk: [media] dir; s3: a bucket")
    s3_endpoint: str = _opt("", _http_url_or_empty, "S3-compatible server, e.g. https://s3.example")
    s3_bucket: str = _opt("", None, "bucket (made beforehand); objects are media/<sha256>")
    s3_region: str = _opt("us-east-1", None, "region the signatures name")
    s3_access_key: Secret = _opt(Secret(""), None, "access key id")
    s3_secret_key: Secret = _opt(Secret(""), None, "secret access key")


@dataclass(frozen=True)
class StatusSettings:
    public: bool = _opt(False, None, "show a summary of the checks at /status to everyone")
    certificate: Path = _opt(Path(""), None, "PEM certificate to watch; empty: [http] tls_cert")
    tls_handshake: bool = _opt(False, None, "read the certificate by a TLS handshake to the domain")
    rdap: bool = _opt(False, None, "look the domain's registration expiry up over RDAP")
    rdap_url: str = _opt("https://rdap.org", _http_url, "RDAP service base URL")


@dataclass(frozen=True)
class MetricsSettings:
    token: Secret = _opt(Secret(""), None, "bearer token for /metrics (empty: no token access)")
    listen: str = _opt("", _listen_or_empty, "extra HOST:PORT where /metrics needs no token")


@dataclass(frozen=True)
class CostsSettings:
    currency: str = _opt("EUR", _currency, "the currency the costs page counts in")
    group: str = _opt(
        "", _slug_or_empty, "the group whose spend decisions record bills and expenses"
    )


def _required_http_url(value: Any) -> str | None:
    return "must be an http(s):// URL" if not value else _http_url(value)


@dataclass(frozen=True)
class GraphSettings:
    wikidata_lookup: bool = _opt(
        False, None, "resolve ids the shipped gazetteer lacks from WikiData's API (off: a 422)"
    )
    wikidata_api_url: str = _opt(
        "https://www.wikidata.org/w/api.php", _required_http_url, "WikiData's api.php"
    )
    wikidata_timeout_seconds: int = _opt(5, _int_range(1, 60), "deadline of one lookup")
    wikidata_max_bytes: int = _opt(
        4 * 1_048_576, _int_range(65_536, 64 * 1_048_576), "cap on one answer's size"
    )
    wikidata_cache_size: int = _opt(256, _int_range(0, 100_000), "answers kept (found or not)")


@dataclass(frozen=True)
class LogSettings:
    level: str = _opt("info", _one_of("debug", "info", "warning", "error"))
    format: str = _opt("auto", _one_of("auto", "json", "text"), "auto: JSON unless a tty")


@dataclass(frozen=True)
class Settings:
    instance: InstanceSettings = field(default_factory=InstanceSettings)
    http: HttpSettings = field(default_factory=HttpSettings)
    serve: ServeSettings = field(default_factory=ServeSettings)
    database: DatabaseSettings = field(default_factory=DatabaseSettings)
    federation: FederationSettings = field(default_factory=FederationSettings)
    matrix: MatrixSettings = field(default_factory=MatrixSettings)
    media: MediaSettings = field(default_factory=MediaSettings)
    status: StatusSettings = field(default_factory=StatusSettings)
    metrics: MetricsSettings = field(default_factory=MetricsSettings)
    costs: CostsSettings = field(default_factory=CostsSettings)
    graph: GraphSettings = field(default_factory=GraphSettings)
    log: LogSettings = field(default_factory=LogSettings)
    source: Path | None = None  # the file the settings came from, if any

    def __post_init__(self) -> None:
        if self.database.pool_min > self.database.pool_max:
            raise ConfigError(["[database] pool_min: must not exceed pool_max"])
        tls = (self.http.tls_cert != Path(""), self.http.tls_key != Path(""))
        if tls[0] != tls[1]:
            raise ConfigError(["[http] tls_cert, tls_key: set both or neither"])
        for name in ("tls_cert", "tls_key"):
            path = getattr(self.http, name)
            if path != Path("") and not path.is_file():
                raise ConfigError([f"[http] {name}: {path} is not a readable file"])
        if self.media.storage == "s3":
            missing_s3 = [
                f'[media] {name}: is required when [media] storage = "s3"'
                for name in ("s3_endpoint", "s3_bucket", "s3_access_key", "s3_secret_key")
                if not getattr(self.media, name)
            ]
            if missing_s3:
                raise ConfigError(missing_s3)
        if self.matrix.enabled:
            missing = [
                f"[matrix] {name}: is required when [matrix] enabled = true"
                for name in ("homeserver_url", "server_name", "as_token", "hs_token")
                if not getattr(self.matrix, name)
            ]
            if missing:
                raise ConfigError(missing)


SECTIONS: dict[str, type] = {
    f.name: f.type if isinstance(f.type, type) else globals()[f.type]
    for f in dataclasses.fields(Settings)
    if f.name != "source"
}


def env_name(section: str, key: str) -> str:
    """The environment variable that overrides ``[section] key``."""
    return f"{ENV_PREFIX}{section}_{key}".upper()


# ---------------------------------------------------------------- loading
def _coerce(kind: type, raw: Any, from_env: bool) -> Any:
    """Turn a TOML or environment value into ``kind``; raise ValueError to refuse."""
    if kind is bool:
        if isinstance(raw, bool):
            return raw
        if from_env and isinstance(raw, str) and raw.lower() in ("1", "true", "yes", "on"):
            return True
        if from_env and isinstance(raw, str) and raw.lower() in ("0", "false", "no", "off", ""):
            return False
        raise ValueError("must be true or false")
    if kind is int:
        if isinstance(raw, bool):
            raise ValueError("must be an integer")
        if isinstance(raw, int):
            return raw
        if from_env and isinstance(raw, str) and raw.strip().lstrip("-").isdigit():
            return int(raw)
        raise ValueError("must be an integer")
    if not isinstance(raw, str):
        raise ValueError("must be a string")
    if kind is Secret:
        return Secret(raw)
    if kind is Path:
        return Path(raw).expanduser()
    return raw


def _field_type(section_cls: type, f: dataclasses.Field[Any]) -> type:
    hints = {"str": str, "int": int, "bool": bool, "Secret": Secret, "Path": Path}
    return f.type if isinstance(f.type, type) else hints[f.type]


def _build_section(
    name: str, cls: type, from_file: Mapping[str, Any], env: Mapping[str, str], problems: list[str]
) -> Any:
    values: dict[str, Any] = {}
    known = {f.name for f in dataclasses.fields(cls)}
    for key in from_file:
        if key not in known:
            problems.append(f"[{name}] {key}: unknown key (known: {', '.join(sorted(known))})")
    for f in dataclasses.fields(cls):
        kind = _field_type(cls, f)
        variable = env_name(name, f.name)
        if variable in env:
            raw, origin, from_env = env[variable], variable, True
        elif f.name in from_file:
            raw, origin, from_env = from_file[f.name], "config file", False
        else:
            raw = None
        label = f"[{name}] {f.name}"
        if raw is None:
            value = f.default
        else:
            try:
                value = _coerce(kind, raw, from_env)
            except ValueError as exc:
                shown = "***" if kind is Secret else repr(raw)
                problems.append(f"{label} (from {origin}): {exc}, got {shown}")
                continue
        check = f.metadata.get("check")
        reason = check(value) if check else None
        if reason:
            shown = "" if kind is Secret else f", got {value!r}"
            problems.append(f"{label} (env {variable}): {reason}{shown}")
            continue
        values[f.name] = value
    return cls(**values) if not problems else None


def load_settings(
    path: str | os.PathLike[str] | None = None, env: Mapping[str, str] | None = None
) -> Settings:
    """Read the file (if any), apply ``IMAGO_*`` overrides, validate everything.

    The file is ``path``, else ``$IMAGO_CONFIG``, else ``config/imago.toml`` when it
    exists; with none of them the defaults and the environment alone apply.
    Raises :class:`ConfigError` listing every problem at once.
    """
    env = dict(os.environ if env is None else env)
    chosen = path or env.get(CONFIG_ENV)
    source: Path | None = None
    data: dict[str, Any] = {}
    if chosen:
        source = Path(chosen)
        if not source.is_file():
            raise ConfigError([f"config file {source}: not found"])
    elif DEFAULT_CONFIG_PATH.is_file():
        source = DEFAULT_CONFIG_PATH
    if source is not None:
        try:
            data = tomllib.loads(source.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError([f"config file {source}: not valid TOML: {exc}"]) from exc

    problems: list[str] = []
    for key, value in data.items():
        if key not in SECTIONS:
            problems.append(f"[{key}]: unknown section (known: {', '.join(SECTIONS)})")
        elif not isinstance(value, dict):
            problems.append(f"{key}: must be a [{key}] table")
    known_vars = {
        env_name(s, f.name) for s, cls in SECTIONS.items() for f in dataclasses.fields(cls)
    } | {CONFIG_ENV}
    for variable in env:
        if (
            variable.startswith(ENV_PREFIX)
            and variable not in known_vars
            and not variable.startswith(_IGNORED_ENV_PREFIXES)
        ):
            problems.append(f"{variable}: unknown IMAGO_ environment variable")

    sections: dict[str, Any] = {}
    for name, cls in SECTIONS.items():
        table = data.get(name, {})
        section_problems: list[str] = []
        built = _build_section(
            name, cls, table if isinstance(table, dict) else {}, env, section_problems
        )
        problems.extend(section_problems)
        sections[name] = built
    if problems:
        raise ConfigError(problems)
    return Settings(**sections, source=source)
