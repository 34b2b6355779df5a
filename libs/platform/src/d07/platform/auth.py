"""Authentication and authorisation: JWT bearer tokens, the roles, object-level checks.

Production verifies tokens signed by the province's identity provider against its JWKS (from a URL, cached
and refreshed on an unknown key id, or from a file). The local run generates a development key pair in
`.run/` and signs tokens with it (`make token ROLE=police`).
"""

from __future__ import annotations

import json
import threading
import time
import urllib.request
import uuid
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from d07.platform.errors import InvalidArgument, PermissionDenied, Unauthenticated

ADMIN = "admin"
POLICE = "police"
DIC_OPERATOR = "dic_operator"
CHAIRMAN_OFFICE = "chairman_office"
UNIT_OFFICER = "unit_officer"
AUDITOR = "auditor"
CAMERA_GATEWAY = "camera_gateway"
SERVICE = "service"
ROLES = frozenset(
    {ADMIN, POLICE, DIC_OPERATOR, CHAIRMAN_OFFICE, UNIT_OFFICER, AUDITOR, CAMERA_GATEWAY, SERVICE}
)
# Roles that read every unit's data; a unit officer reads only its own unit.
PROVINCE_WIDE_READERS = frozenset({ADMIN, POLICE, DIC_OPERATOR, CHAIRMAN_OFFICE, AUDITOR, SERVICE})
ALGORITHMS = ["ES256", "RS256"]


@dataclass(frozen=True)
class Principal:
    """Who calls: the token's subject, roles and (for a unit officer) the one unit it is bound to."""

    subject: str
    roles: frozenset[str]
    unit_id: str | None = None
    token_id: str | None = None
    claims: dict[str, Any] = field(default_factory=dict, compare=False, hash=False, repr=False)

    def has_any(self, *roles: str) -> bool:
        return not self.roles.isdisjoint(roles)

    @property
    def is_unit_officer_only(self) -> bool:
        return UNIT_OFFICER in self.roles and not self.has_any(*(PROVINCE_WIDE_READERS - {AUDITOR}))


def require_roles(principal: Principal, *roles: str) -> None:
    """PermissionDenied unless the caller holds one of `roles`."""
    if not principal.has_any(*roles):
        raise PermissionDenied(
            f"this action needs one of the roles {', '.join(sorted(roles))}",
            code="role_required",
        )


def ensure_unit_access(principal: Principal, unit_id: str | None, *, write: bool = False) -> None:
    """Object-level check: may this caller read (or write) data that belongs to `unit_id`?

    Province-wide roles read everything; `auditor` only reads; a `unit_officer` reaches its own unit only.
    Write permission by role is the caller's `require_roles`; this adds the object check on top.
    """
    if write and principal.roles <= {AUDITOR}:
        raise PermissionDenied("auditors read only", code="read_only")
    if principal.has_any(ADMIN, POLICE, DIC_OPERATOR, CHAIRMAN_OFFICE, SERVICE):
        return
    if not write and AUDITOR in principal.roles:
        return
    if UNIT_OFFICER in principal.roles and principal.unit_id and unit_id and principal.unit_id == unit_id:
        return
    raise PermissionDenied(
        "a unit officer reaches only its own unit",
        code="other_unit",
        resource_type="unit",
        resource_id=unit_id or "",
    )


class TokenVerifier:
    """Verifies bearer tokens against a JWKS (a dict, a file, or a URL fetched and cached).

    Verifying an ES256 token costs about a quarter of a millisecond of CPU, more than everything else a call
    does, and a peer sends the same token on every call: a token verified once is trusted again, by its exact
    text, for up to `cache_seconds` and never past its own expiry (a JWKS rotation takes effect within that
    time). Failures are not remembered.

    A JWKS URL is fetched once, blocking, at the first verification (start-up); afterwards refreshes (when
    stale, or when a token names an unknown key id) run on a background thread, at most once per
    `min_refresh_seconds`, so neither a slow identity provider nor tokens with made-up key ids can stall the
    event loop.
    """

    def __init__(
        self,
        *,
        issuer: str,
        audience: str,
        jwks: dict[str, Any] | None = None,
        jwks_file: str = "",
        jwks_url: str = "",
        refresh_seconds: float = 300.0,
        min_refresh_seconds: float = 30.0,
        leeway: float = 30.0,
        cache_seconds: float = 60.0,
        cache_size: int = 1024,
    ) -> None:
        if jwks is None and not jwks_file and not jwks_url:
            raise ValueError("a JWKS, a JWKS file or a JWKS URL is required")
        self._issuer = issuer
        self._audience = audience
        self._jwks_file = jwks_file
        self._jwks_url = jwks_url
        self._refresh = refresh_seconds
        self._leeway = leeway
        self._min_refresh = min_refresh_seconds
        self._keys: dict[str, tuple[Any, str]] = {}
        self._loaded_at = 0.0
        self._attempted_at = -float("inf")
        self._refreshing = threading.Lock()
        self._cache_seconds = cache_seconds
        self._cache_size = cache_size
        self._verified: OrderedDict[str, tuple[Principal, float]] = OrderedDict()
        if jwks is not None:
            self._set(jwks)
            self._loaded_at = float("inf")

    def _set(self, jwks: dict[str, Any]) -> None:
        keys: dict[str, tuple[Any, str]] = {}
        for jwk in jwks.get("keys", []):
            key = jwt.PyJWK(jwk)
            if key.algorithm_name not in ALGORITHMS:
                continue  # a key of an algorithm this platform does not accept signs nothing here
            # Each key is bound to its one algorithm: a token may not choose another for it.
            keys[jwk.get("kid", "")] = (key.key, key.algorithm_name)
        if not keys:
            raise ValueError("the JWKS holds no keys")
        self._keys = keys

    def _fetch(self) -> dict[str, Any]:
        if self._jwks_file:
            data: dict[str, Any] = json.loads(Path(self._jwks_file).read_text())
            return data
        with urllib.request.urlopen(self._jwks_url, timeout=5) as resp:  # noqa: S310 (configured URL)
            fetched: dict[str, Any] = json.loads(resp.read())
            return fetched

    def _refresh_now(self) -> None:
        try:
            self._set(self._fetch())
            self._loaded_at = time.monotonic()
        except (OSError, ValueError):
            pass  # keep the keys we have; the next refresh tries again
        finally:
            self._refreshing.release()

    def _load(self, force: bool = False) -> None:
        now = time.monotonic()
        if not self._keys and (self._jwks_file or self._jwks_url):
            self._set(self._fetch())  # the first load: nothing to verify with until it is done
            self._loaded_at = self._attempted_at = now
            return
        stale = now - self._loaded_at >= self._refresh
        if not (stale or force) or now - self._attempted_at < self._min_refresh:
            return
        if not self._refreshing.acquire(blocking=False):
            return
        self._attempted_at = now
        if self._jwks_url:
            threading.Thread(target=self._refresh_now, name="jwks-refresh", daemon=True).start()
        else:
            self._refresh_now()  # a local file: cheap

    def _key_for(self, kid: str) -> tuple[Any, str]:
        self._load()
        if kid not in self._keys:
            self._load(force=True)
        if kid not in self._keys:
            if len(self._keys) == 1 and not kid:
                return next(iter(self._keys.values()))
            raise Unauthenticated("the token's signing key is unknown", code="unknown_key")
        return self._keys[kid]

    def verify(self, token: str) -> Principal:
        """A Principal for a valid token; Unauthenticated with the reason otherwise."""
        now = time.monotonic()
        known = self._verified.get(token)
        if known is not None and known[1] > now:
            self._verified.move_to_end(token)
            return known[0]
        principal = self._verify(token)
        expires = principal.claims.get("exp")
        left = float(expires) - time.time() if isinstance(expires, int | float) else 0.0
        keep = min(self._cache_seconds, left)
        if keep > 0:
            self._verified[token] = (principal, now + keep)
            self._verified.move_to_end(token)
            while len(self._verified) > self._cache_size:
                self._verified.popitem(last=False)
        return principal

    def _verify(self, token: str) -> Principal:
        if not token:
            raise Unauthenticated("a bearer token is required", code="missing_token")
        try:
            header = jwt.get_unverified_header(token)
            key, algorithm = self._key_for(str(header.get("kid", "")))
            if header.get("alg") != algorithm:
                raise Unauthenticated("the token's algorithm is not its key's", code="invalid_token")
            claims = jwt.decode(
                token,
                key=key,
                algorithms=[algorithm],
                audience=self._audience,
                issuer=self._issuer,
                leeway=self._leeway,
                options={"require": ["exp", "sub", "iss", "aud"]},
            )
        except Unauthenticated:
            raise
        except jwt.ExpiredSignatureError as exc:
            raise Unauthenticated("the token has expired", code="expired_token") from exc
        except (jwt.InvalidTokenError, ValueError, TypeError, KeyError) as exc:
            # Whatever a forged or garbled token makes the JWT library raise is the caller's fault: 401.
            raise Unauthenticated(f"the token is not valid: {exc}", code="invalid_token") from exc
        roles = claims.get("roles", [])
        if isinstance(roles, str):
            roles = roles.split()
        known = frozenset(r for r in roles if r in ROLES)
        if not known:
            raise Unauthenticated("the token carries no role of this platform", code="no_role")
        unit_id = claims.get("unit_id")
        if UNIT_OFFICER in known and not unit_id:
            raise Unauthenticated("a unit officer's token must name its unit_id", code="no_unit")
        return Principal(
            subject=str(claims["sub"]),
            roles=known,
            unit_id=str(unit_id) if unit_id else None,
            token_id=claims.get("jti"),
            claims=claims,
        )


def bearer_token(value: str | None) -> str:
    """The token of an `Authorization: Bearer <token>` value ('' when absent or malformed)."""
    if not value:
        return ""
    scheme, _, token = value.strip().partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


# --- development keys --------------------------------------------------------------------------------

DEV_KEY_ID = "d07-dev-1"


def ensure_dev_keys(run_dir: Path) -> tuple[Path, Path]:
    """Create (once) the development signing key and its JWKS in `run_dir`. Returns (key, jwks) paths."""
    run_dir.mkdir(parents=True, exist_ok=True)
    key_path, jwks_path = run_dir / "dev-jwt-key.pem", run_dir / "dev-jwks.json"
    if not key_path.exists():
        private = ec.generate_private_key(ec.SECP256R1())
        pem = private.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        tmp = key_path.with_suffix(".tmp")
        tmp.write_bytes(pem)
        tmp.chmod(0o600)
        tmp.replace(key_path)
    if not jwks_path.exists():
        private_key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
        jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(private_key.public_key()))  # type: ignore[arg-type]
        jwk.update({"kid": DEV_KEY_ID, "alg": "ES256", "use": "sig"})
        tmp = jwks_path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"keys": [jwk]}, indent=2))
        tmp.replace(jwks_path)
    return key_path, jwks_path


def issue_token(
    private_key_pem: bytes,
    *,
    roles: Iterable[str],
    subject: str,
    unit_id: str | None = None,
    issuer: str = "d07-dev",
    audience: str = "d07",
    ttl_seconds: int = 12 * 3600,
    kid: str = DEV_KEY_ID,
) -> str:
    """Sign a token with a development (or test) key."""
    roles = list(roles)
    unknown = [r for r in roles if r not in ROLES]
    if unknown:
        raise InvalidArgument(f"unknown role(s): {', '.join(unknown)}; roles are {', '.join(sorted(ROLES))}")
    now = int(time.time())
    claims: dict[str, Any] = {
        "sub": subject,
        "roles": roles,
        "iss": issuer,
        "aud": audience,
        "iat": now,
        "exp": now + ttl_seconds,
        "jti": str(uuid.uuid4()),
    }
    if unit_id:
        claims["unit_id"] = unit_id
    return jwt.encode(claims, private_key_pem, algorithm="ES256", headers={"kid": kid})
