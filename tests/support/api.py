"""The role-aware API client of the demo (`d07.demo.client`) for tests that speak to the services' HTTP APIs:

    async with api_client(platform) as api:
        made = await api.as_role("admin").post(f"{api.urls.registry}/v1/units", json=body)
        with pytest.raises(ApiError) as refused:
            await api.as_role("auditor").post(...)
        assert refused.value.code == "role_required"

Tokens are signed with the test platform's key (subject `test-<role>`, as `Platform.token` signs them); a
503 is an answer here, not something to retry (`attempts=1`).
"""

from __future__ import annotations

from typing import Any

from d07.demo.client import ApiClient, ApiError, RoleClient, Urls
from tests.support.services import SERVICES, Platform

__all__ = ["ApiClient", "ApiError", "RoleClient", "Urls", "api_client", "urls_of"]


def urls_of(platform: Platform) -> Urls:
    """The HTTP base URL of each service of the running test platform."""
    return Urls(**{name: platform[name].url for name in SERVICES})


def api_client(platform: Platform, **options: Any) -> ApiClient:
    """A client of the test platform's services (close it, or use it as `async with`)."""
    options.setdefault("attempts", 1)
    options.setdefault("subject_prefix", "test")
    return ApiClient(urls_of(platform), platform.key_pem, **options)
