"""Schemathesis over every service's OpenAPI, against the five services as processes: with a valid admin token
and with no token, bounded examples and a fixed seed. Each (service, caller,
check) is a test: zero 5xx (not_a_server_error), zero response-schema failures, zero undocumented status codes
and zero undocumented content types.

The runs are the schemathesis CLI (`st run`), two at a time, once per session; each test reads its check's
failures from the run's JSON report. A failing case prints what schemathesis found (operation and kind); the
run's own log, with a curl line per failure, is in the pytest tmp dir (`schemathesis/<service>-<caller>.log`).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import throwaway_database
from tests.support.services import SERVICES, Platform, running_platform

ST = Path(sys.executable).parent / "st"
SEED = 2019  # and deterministic generation (no example database): the same cases each run
Pair = tuple[str, str]  # (service, caller)
CALLERS = ("admin", "anonymous")
# check name -> the failure kinds (schemathesis' codes) it reports
CHECKS = {
    "not_a_server_error": {"ST101", "ST102", "ServerError"},
    "response_schema_conformance": {"ST104", "JsonSchemaError"},
    "status_code_conformance": {"ST103", "UndefinedStatusCode"},
    "content_type_conformance": {"ST105", "UndefinedContentType"},
}
# Per caller: how much to generate. The anonymous caller meets the door only (every answer 401), so less.
BUDGET = {
    "admin": ["--phases", "examples,coverage,fuzzing", "--max-examples", "3"],
    "anonymous": ["--phases", "examples,fuzzing", "--max-examples", "2"],
}

# Cases known to fail, each a strict xfail naming why (a fix flips it into a failure until the mark goes):
# none today.
KNOWN: dict[tuple[str, str, str], str] = {}


pytestmark = pytest.mark.timeout(900)  # ten runs, five at a time: about 3 minutes on an idle machine


def _run(platform: Platform, service: str, caller: str, out: Path) -> dict[str, Any]:
    report, log = out / f"{service}-{caller}.json", out / f"{service}-{caller}.log"
    args = [
        str(ST), "run", f"{platform[service].url}/openapi.json",
        "--checks", ",".join(CHECKS), *BUDGET[caller],
        "--seed", str(SEED), "--generation-deterministic",
        "--no-shrink", "--workers", "1",
        "--request-timeout", "20", "--report", "json", "--report-json-path", str(report),
    ]  # fmt: skip
    if caller == "admin":
        args += ["--header", f"Authorization: Bearer {platform.token('admin')}"]
    env = dict(os.environ, NO_COLOR="1", SCHEMATHESIS_TELEMETRY="false")
    with log.open("wb") as sink:
        subprocess.run(args, stdout=sink, stderr=subprocess.STDOUT, env=env, timeout=600, check=False)
    assert report.exists(), log.read_text()[-3000:]
    result: dict[str, Any] = json.loads(report.read_text())
    result["log"] = str(log)
    return result


@pytest.fixture(scope="module")
async def fuzzed(
    pg_server_url: str, broker: Any, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Platform]:
    """A platform of its own: what the fuzzing creates with the admin's token (examples of the OpenAPI, such
    as directive 07/CT-BCA-V28) must not land in the session platform the other tests count on."""
    async with throwaway_database(pg_server_url, "d07_fuzz") as url:
        with running_platform(url, broker.bootstrap, tmp_path_factory.mktemp("fuzz")) as p:
            yield p


@pytest.fixture(scope="module")
def runs(fuzzed: Platform, tmp_path_factory: pytest.TempPathFactory) -> dict[Pair, dict[str, Any]]:
    platform = fuzzed
    out = tmp_path_factory.mktemp("schemathesis")
    pairs = [(s, c) for c in CALLERS for s in SERVICES]
    with ThreadPoolExecutor(max_workers=len(SERVICES)) as pool:  # mostly waiting on the services
        done = pool.map(lambda pair: _run(platform, pair[0], pair[1], out), pairs)
        return dict(zip(pairs, done, strict=True))


def _cases() -> list[Any]:
    cases = []
    for service in SERVICES:
        for caller in CALLERS:
            for check in CHECKS:
                reason = KNOWN.get((service, caller, check))
                marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
                cases.append(
                    pytest.param(service, caller, check, marks=marks, id=f"{service}-{caller}-{check}")
                )
    return cases


def test_every_operation_was_exercised(runs: dict[Pair, dict[str, Any]]) -> None:
    for (service, caller), run in runs.items():
        ops = run["operations"]
        assert ops["tested"] == ops["selected"] > 0, (service, caller, ops)
        assert ops["errored"] == 0, (service, caller, run["errors"])
        assert run["test_cases"]["generated"] >= ops["tested"], (service, caller)


@pytest.mark.parametrize(("service", "caller", "check"), _cases())
def test_schemathesis_finds_nothing(
    runs: dict[Pair, dict[str, Any]], service: str, caller: str, check: str
) -> None:
    run = runs[(service, caller)]
    found = [
        (f["code"], f["title"], f["count"], f["operations"])
        for f in run["failures"]
        if f["code"] in CHECKS[check] or f["type"] in CHECKS[check]
    ]
    assert found == [], f"{service} as {caller}: {found} (see {run['log']})"
