"""Bearer-token authentication for every service.

Clients send ``authorization: Bearer <token>`` metadata.  The server keeps only
SHA-256 hashes of tokens, in a JSON file named by ``CREDIT_TOKENS_FILE``::

    {"tokens": [{"sha256": "<64 hex>", "name": "insurer-a",
                 "department": "medical_insurance" | null,
                 "roles": ["department", ...]}]}

Modes (``CREDIT_AUTH_MODE``):

* ``tokens`` (default): a call without a token fails with UNAUTHENTICATED
  "missing bearer token"; a malformed or unknown one with "invalid bearer token".
  Nothing else is revealed (not which part was wrong, nor who the token belonged to).
* ``dev``: for local development only.  A call WITHOUT a token runs as the principal
  ``Principal(name="dev", department=None, roles={"admin"})``.  A token that IS sent is
  still checked against the registry (empty when ``CREDIT_TOKENS_FILE`` is unset) and
  rejected when unknown, so client code exercised in dev mode behaves as in production.
  A WARNING is logged when a server starts in this mode.

Health (``/grpc.health.v1.Health/``) and reflection (``/grpc.reflection.``) methods are
exempt, so probes and grpcurl work without credentials.

During a handler call the authenticated principal is available from
:func:`current_principal` (a ContextVar set by the server's interceptor).

CLI::

    python -m services.common.auth hash-token <token>   # or "-" / nothing: read stdin
    python -m services.common.auth new-token
"""

from __future__ import annotations

import argparse
import contextvars
import hashlib
import hmac
import json
import logging
import math
import re
import secrets
import sys
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from services.common.config import AuthMode, ConfigError
from services.common.errors import ServiceError

# Every role the services know; a token file naming another one has a typo.
ROLES = frozenset({"admin", "regulator", "planner", "department", "applicant", "service",
                   "public"})

__all__ = [
    "DEV_PRINCIPAL",
    "EXEMPT_METHOD_PREFIXES",
    "Authenticator",
    "FailedAuthLimiter",
    "NoPrincipalError",
    "Principal",
    "TokenFileError",
    "TokenRegistry",
    "current_principal",
    "hash_token",
    "is_exempt",
    "optional_principal",
    "use_principal",
]

log = logging.getLogger(__name__)

EXEMPT_METHOD_PREFIXES: tuple[str, ...] = ("/grpc.health.v1.Health/", "/grpc.reflection.")
MISSING_TOKEN = "missing bearer token"
INVALID_TOKEN = "invalid bearer token"

_HEX64 = re.compile(r"[0-9a-f]{64}")
_IDENT = re.compile(r"[a-z][a-z0-9_]*")


@dataclass(frozen=True, slots=True)
class Principal:
    name: str
    department: str | None
    roles: frozenset[str]

    def has_role(self, role: str) -> bool:
        return role in self.roles


DEV_PRINCIPAL = Principal(name="dev", department=None, roles=frozenset({"admin"}))


class TokenFileError(ConfigError):
    """The tokens file is unreadable or malformed (names the file and the entry)."""


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class TokenRegistry:
    """Token hashes -> principals.  Never holds a plaintext token."""

    def __init__(self, entries: Sequence[tuple[str, Principal]] = ()) -> None:
        self._entries = tuple((digest.lower(), principal) for digest, principal in entries)

    def __len__(self) -> int:
        return len(self._entries)

    @classmethod
    def from_file(cls, path: Path) -> TokenRegistry:
        where = str(path)
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise TokenFileError(where, f"cannot read: {exc.strerror or exc}") from None
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise TokenFileError(where, f"not valid JSON: {exc}") from None
        return cls.from_json(raw, where=where)

    @classmethod
    def from_json(cls, raw: Any, *, where: str = "tokens") -> TokenRegistry:
        """Strict: unknown keys, wrong types and duplicate hashes are errors, because a
        typo in a security file should stop the service, not silently drop a grant."""
        if not isinstance(raw, dict) or set(raw) != {"tokens"}:
            raise TokenFileError(where, 'must be an object with exactly one key, "tokens"')
        tokens = raw["tokens"]
        if not isinstance(tokens, list):
            raise TokenFileError(where, '"tokens" must be a list')
        entries: list[tuple[str, Principal]] = []
        seen: set[str] = set()
        for i, item in enumerate(tokens):
            at = f"{where}: tokens[{i}]"
            if not isinstance(item, dict):
                raise TokenFileError(at, "must be an object")
            keys = set(item)
            expected = {"sha256", "name", "department", "roles"}
            if keys != expected:
                problems = []
                if expected - keys:
                    problems.append("missing " + ", ".join(sorted(expected - keys)))
                if keys - expected:
                    problems.append("unknown " + ", ".join(sorted(keys - expected)))
                raise TokenFileError(at, "; ".join(problems))
            digest, name, department, roles = (
                item["sha256"],
                item["name"],
                item["department"],
                item["roles"],
            )
            if not isinstance(digest, str) or not _HEX64.fullmatch(digest.lower()):
                raise TokenFileError(at, "sha256 must be 64 hex digits")
            digest = digest.lower()
            if digest in seen:
                raise TokenFileError(at, "duplicate sha256")
            seen.add(digest)
            if not isinstance(name, str) or not name.strip() or name != name.strip():
                raise TokenFileError(at, "name must be a non-empty string without edge spaces")
            if department is not None and (
                not isinstance(department, str) or not _IDENT.fullmatch(department)
            ):
                raise TokenFileError(at, "department must be null or a lower_snake identifier")
            if department == "admin":  # what an admin's records-service shield is filed under
                raise TokenFileError(at, "department 'admin' is reserved; give admins the role")
            if not isinstance(roles, list) or not all(
                isinstance(r, str) and _IDENT.fullmatch(r) for r in roles
            ):
                raise TokenFileError(at, "roles must be a list of lower_snake identifiers")
            if len(set(roles)) != len(roles):
                raise TokenFileError(at, "roles contain duplicates")
            if not roles or set(roles) - ROLES:
                raise TokenFileError(at, f"roles must be some of {', '.join(sorted(ROLES))}; "
                                         f"got {roles}")
            if ("department" in roles) != (department is not None):
                raise TokenFileError(at, "a department is given exactly with the role "
                                         "department")
            entries.append((digest, Principal(name, department, frozenset(roles))))
        return cls(entries)

    def lookup(self, token: str) -> Principal | None:
        digest = hash_token(token)
        found: Principal | None = None
        # Compare against every entry, without early exit, so timing reveals neither
        # whether nor where a token matched.
        for candidate, principal in self._entries:
            if hmac.compare_digest(candidate, digest):
                found = principal
        return found


_current: contextvars.ContextVar[Principal] = contextvars.ContextVar("credit_principal")


class NoPrincipalError(RuntimeError):
    """current_principal() was called outside an authenticated handler (a bug)."""


def current_principal() -> Principal:
    """The caller of the RPC being handled; a bug to call outside one (-> INTERNAL)."""
    try:
        return _current.get()
    except LookupError:
        raise NoPrincipalError("no authenticated principal in this context") from None


def optional_principal() -> Principal | None:
    return _current.get(None)


@contextmanager
def use_principal(principal: Principal) -> Iterator[None]:
    """Bind ``principal`` for the block: used by the server, and by handler unit tests."""
    token = bind_principal(principal)
    try:
        yield
    finally:
        unbind_principal(token)


def bind_principal(principal: Principal) -> contextvars.Token[Principal]:
    """Binds ``principal`` until ``unbind_principal`` (use_principal, as two calls)."""
    return _current.set(principal)


def unbind_principal(token: contextvars.Token[Principal]) -> None:
    # Async generators may be finalised from another context; the binding dies with that
    # context anyway.
    with suppress(ValueError):
        _current.reset(token)


def is_exempt(method: str) -> bool:
    return method.startswith(EXEMPT_METHOD_PREFIXES)


MetadataLike = Iterable[tuple[str, str | bytes]] | None


class Authenticator:
    """Turns call metadata into a Principal or a ServiceError(UNAUTHENTICATED)."""

    def __init__(self, mode: AuthMode, registry: TokenRegistry | None = None) -> None:
        if mode == "tokens" and registry is None:
            raise ValueError("tokens mode needs a TokenRegistry")
        self.mode = mode
        self.registry = registry if registry is not None else TokenRegistry()

    @classmethod
    def from_settings(cls, mode: AuthMode, tokens_file: Path | None) -> Authenticator:
        registry = TokenRegistry.from_file(tokens_file) if tokens_file is not None else None
        if mode == "dev":
            log.warning(
                "CREDIT_AUTH_MODE=dev: calls without a token run as admin; never use in production",
                extra={"auth_mode": "dev", "tokens": len(registry) if registry else 0},
            )
        return cls(mode, registry)

    def authenticate(self, metadata: MetadataLike) -> Principal:
        values = [v for k, v in (metadata or ()) if k.lower() == "authorization"]
        if not values:
            if self.mode == "dev":
                return DEV_PRINCIPAL
            raise ServiceError.unauthenticated(MISSING_TOKEN)
        if len(values) != 1 or not isinstance(values[0], str):
            raise ServiceError.unauthenticated(INVALID_TOKEN)
        scheme, _, token = values[0].strip().partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise ServiceError.unauthenticated(INVALID_TOKEN)
        principal = self.registry.lookup(token)
        if principal is None:
            raise ServiceError.unauthenticated(INVALID_TOKEN)
        return principal


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m services.common.auth")
    sub = parser.add_subparsers(dest="command", required=True)
    hash_cmd = sub.add_parser("hash-token", help="print sha256 hex of a token")
    hash_cmd.add_argument(
        "token",
        nargs="?",
        default="-",
        help='the token, or "-" to read stdin (keeps it out of the process list and shell history)',
    )
    sub.add_parser("new-token", help="print a fresh random token and its sha256")
    args = parser.parse_args(argv)
    if args.command == "hash-token":
        token = sys.stdin.readline().strip() if args.token == "-" else args.token
        if not token:
            parser.error("empty token")
        print(hash_token(token))
    else:
        token = secrets.token_urlsafe(32)
        print(f"token: {token}")
        print(f"sha256: {hash_token(token)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())


class FailedAuthLimiter:
    """Sliding window of failed token attempts per client address (per process): a client
    over the limit is refused, valid token or not, until its oldest failure leaves the window."""

    MAX_CLIENTS = 100_000

    def __init__(self, allowed: int, window: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.allowed = allowed
        self.window = window
        self._clock = clock
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()

    def retry_after(self, client: str) -> int | None:
        """Seconds the client must wait, or None when it may try."""
        q = self._failures.get(client)
        if q is None:
            return None
        now = self._clock()
        while q and q[0] <= now - self.window:
            q.popleft()
        if not q:
            del self._failures[client]
            return None
        if len(q) < self.allowed:
            return None
        return max(1, math.ceil(q[0] + self.window - now))

    def failed(self, client: str) -> None:
        q = self._failures.setdefault(client, deque())
        self._failures.move_to_end(client)
        q.append(self._clock())
        # Bounded memory under a spray of addresses: forget the least recent clients.
        while len(self._failures) > self.MAX_CLIENTS:
            self._failures.popitem(last=False)
