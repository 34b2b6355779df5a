"""The import contracts of `.importlinter` fail when they are broken, not only pass when nothing is wrong.

`make lint` runs lint-imports over the real services, where every contract is kept; that alone does not show
that a contract would catch anything. Here the real file's contracts are carried over to a tiny synthetic
tree in tmp_path (two "services", `svc` and `peer`, `svc` with two aggregates of the final shape), keeping
each contract's type and options and only renaming the modules; then the real `lint-imports` runs on it:
clean, it passes; with one deliberate violation, it fails naming the contract it broke.
"""

from __future__ import annotations

import configparser
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"
REAL_CONFIG = ROOT / ".importlinter"

# The contracts this test carries over, by id in the real file, with the type each must have there.
KINDS = {
    "domain-is-pure": "forbidden",
    "aggregate-layers": "layers",
    "aggregates-acyclic": "acyclic_siblings",
    "services-independent": "independence",
}

# The synthetic tree: module -> source. Each aggregate has the final shape's files, importing downwards only.
AGGREGATES = ("units", "forces")
CLEAN = {
    "svc/__init__.py": "",
    "svc/bootstrap.py": "from svc.forces import http\nfrom svc.units import grpc\n",
    "peer/__init__.py": "",
    "peer/units/__init__.py": "",
    "peer/units/domain.py": "",
    **{
        path: source
        for agg in AGGREGATES
        for path, source in {
            f"svc/{agg}/__init__.py": "",
            f"svc/{agg}/domain.py": "import dataclasses\n",
            f"svc/{agg}/repository.py": f"import asyncpg\n\nfrom svc.{agg} import domain\n",
            f"svc/{agg}/messages.py": f"from svc.{agg} import domain\n",
            f"svc/{agg}/service.py": f"from svc.{agg} import domain, messages, repository\n",
            f"svc/{agg}/grpc.py": f"import grpc\n\nfrom svc.{agg} import messages, service\n",
            f"svc/{agg}/http.py": f"import fastapi\n\nfrom svc.{agg} import service\n",
        }.items()
    },
}


def real_contracts() -> configparser.ConfigParser:
    parser = configparser.ConfigParser()
    assert parser.read(REAL_CONFIG), f"{REAL_CONFIG} is missing"
    return parser


def section(contract: str) -> str:
    return f"importlinter:contract:{contract}"


def lines(value: str) -> list[str]:
    return [v.strip() for v in value.splitlines() if v.strip()]


def synthetic_config() -> str:
    """The real contracts of KINDS, each with its type and options, over the synthetic modules."""
    real = real_contracts()
    out = configparser.ConfigParser()
    out["importlinter"] = {"root_packages": "\nsvc\npeer", "include_external_packages": "True"}

    pure = real[section("domain-is-pure")]
    # Top-level libraries only: the synthetic tree has no d07.platform to name submodules of.
    libraries = [m for m in lines(pure["forbidden_modules"]) if "." not in m]
    out[section("domain-is-pure")] = {
        "name": pure["name"],
        "type": pure["type"],
        "source_modules": "\nsvc.*.domain\npeer.*.domain",
        "forbidden_modules": "\n" + "\n".join(libraries),
        "allow_indirect_imports": pure.get("allow_indirect_imports", "False"),
    }
    layers = real[section("aggregate-layers")]
    out[section("aggregate-layers")] = {
        "name": layers["name"],
        "type": layers["type"],
        "containers": "\n" + "\n".join(f"svc.{a}" for a in AGGREGATES),
        "layers": layers["layers"],
    }
    acyclic = real[section("aggregates-acyclic")]
    out[section("aggregates-acyclic")] = {
        "name": acyclic["name"],
        "type": acyclic["type"],
        "ancestors": "\nsvc\npeer",
    }
    independent = real[section("services-independent")]
    out[section("services-independent")] = {
        "name": independent["name"],
        "type": independent["type"],
        "modules": "\nsvc\npeer",
    }
    text = io.StringIO()
    out.write(text)
    return text.getvalue()


def lint(tmp_path: Path, changes: dict[str, str] | None = None) -> tuple[int, str]:
    """Write the clean tree with `changes` (module path -> source added at its end) and run lint-imports."""
    files = dict(CLEAN)
    for path, extra in (changes or {}).items():
        files[path] = files.get(path, "") + extra
    for path, source in files.items():
        target = tmp_path / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(source)
    config = tmp_path / "contracts.ini"
    config.write_text(synthetic_config())
    # Wide enough that the report does not wrap a contract's name.
    env = dict(os.environ, PYTHONPATH=str(tmp_path), COLUMNS="400")
    done = subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", "--no-logo", str(config)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    return done.returncode, done.stdout + done.stderr


def contract_name(contract: str) -> str:
    return real_contracts()[section(contract)]["name"]


def broken(output: str) -> set[str]:
    """The ids of the contracts the output reports BROKEN."""
    return {c for c in KINDS if f"{contract_name(c)} BROKEN" in output}


# --- the real file declares each kind --------------------------------------------------------------------


@pytest.mark.parametrize(("contract", "kind"), KINDS.items())
def test_the_real_file_declares_the_contract(contract: str, kind: str) -> None:
    real = real_contracts()
    assert real.has_section(section(contract)), f".importlinter has no contract {contract}"
    assert real[section(contract)]["type"] == kind


def test_the_real_domain_contract_allows_indirect_imports_and_forbids_io() -> None:
    pure = real_contracts()[section("domain-is-pure")]
    assert pure.getboolean("allow_indirect_imports")
    assert {"asyncpg", "grpc", "fastapi", "aiokafka", "httpx"} <= set(lines(pure["forbidden_modules"]))
    assert all(m.endswith(".*.domain") for m in lines(pure["source_modules"]))


def test_the_real_layers_put_the_doors_over_service_over_repository_over_domain() -> None:
    layers = lines(real_contracts()[section("aggregate-layers")]["layers"])
    assert layers[0].startswith("(grpc)")
    assert layers[1:] == ["(service)", "(repository) | (messages)", "(domain)"]


# --- the carried-over contracts on the synthetic tree ----------------------------------------------------


def test_the_clean_tree_keeps_every_contract(tmp_path: Path) -> None:
    code, output = lint(tmp_path)
    assert code == 0, output
    assert f"{len(KINDS)} kept, 0 broken" in output


def test_an_io_library_in_a_domain_breaks_domain_purity(tmp_path: Path) -> None:
    code, output = lint(tmp_path, {"svc/units/domain.py": "import asyncpg\n"})
    assert code != 0
    assert broken(output) == {"domain-is-pure"}, output
    assert "svc.units.domain -> asyncpg" in output


def test_an_indirect_io_import_of_a_domain_is_allowed(tmp_path: Path) -> None:
    # The domain imports a module that imports asyncpg: the contract looks at direct imports only (a domain
    # may use a platform module that itself imports more).
    code, output = lint(
        tmp_path, {"svc/shared.py": "import asyncpg\n", "svc/units/domain.py": "from svc import shared\n"}
    )
    assert code == 0, output


def test_a_domain_importing_its_service_breaks_the_layers(tmp_path: Path) -> None:
    code, output = lint(tmp_path, {"svc/forces/domain.py": "from svc.forces import service\n"})
    assert code != 0
    # domain -> service -> domain is a cycle between siblings as well.
    assert broken(output) == {"aggregate-layers", "aggregates-acyclic"}, output
    assert "svc.forces.domain -> svc.forces.service" in output


def test_a_repository_importing_a_door_breaks_the_layers(tmp_path: Path) -> None:
    code, output = lint(tmp_path, {"svc/units/repository.py": "from svc.units import http\n"})
    assert code != 0
    assert "aggregate-layers" in broken(output), output


def test_two_aggregates_importing_each_other_break_acyclic(tmp_path: Path) -> None:
    code, output = lint(
        tmp_path,
        {
            "svc/units/service.py": "from svc.forces import domain as forces\n",
            "svc/forces/service.py": "from svc.units import domain as units\n",
        },
    )
    assert code != 0
    assert broken(output) == {"aggregates-acyclic"}, output


def test_a_cycle_between_siblings_inside_an_aggregate_breaks_acyclic(tmp_path: Path) -> None:
    # cameras.detections.repository -> .opening -> .repository: a cycle below the aggregates counts too.
    code, output = lint(
        tmp_path,
        {
            "svc/units/opening.py": "from svc.units import repository\n",
            "svc/units/repository.py": "from svc.units import opening\n",
        },
    )
    assert code != 0
    assert "aggregates-acyclic" in broken(output), output


def test_a_service_importing_another_breaks_independence(tmp_path: Path) -> None:
    code, output = lint(tmp_path, {"svc/units/service.py": "from peer.units import domain as peer_units\n"})
    assert code != 0
    assert broken(output) == {"services-independent"}, output
