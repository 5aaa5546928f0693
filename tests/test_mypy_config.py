"""The type checker's settings (run by ``make lint``): the release and the gates get every flag of
mypy's ``--strict``.

``strict = true`` cannot say so: mypy reads it only as a global setting (in an override it turns
strict mode on for every module), so the override lists the flags one by one, and this test
compares them with the installed mypy's own list, which grows from release to release."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from mypy.main import define_options
from mypy.options import PER_MODULE_OPTIONS

ROOT = Path(__file__).resolve().parent.parent
STRICT_PACKAGES = {"pipeline.gates.*", "pipeline.release.*"}


def mypy_config() -> dict[str, Any]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["mypy"]


def strict_assignments() -> list[tuple[str, bool]]:
    """(setting, value) for each flag ``mypy --strict`` sets, from the installed mypy."""
    _parser, _names, assignments = define_options()
    return assignments


def test_the_release_and_the_gates_get_every_strict_flag() -> None:
    config = mypy_config()
    strict = [o for o in config["overrides"] if STRICT_PACKAGES & set(o["module"])]
    assert len(strict) == 1 and set(strict[0]["module"]) == STRICT_PACKAGES
    assert "strict" not in strict[0], "strict in an override makes every module strict"
    for setting, value in strict_assignments():
        where = strict[0] if setting in PER_MODULE_OPTIONS else config
        assert where.get(setting) == value, f"{setting} = {value} missing"


def test_missing_imports_are_ignored_per_module_only() -> None:
    config = mypy_config()
    assert "ignore_missing_imports" not in config
    ignored = [o for o in config["overrides"] if o.get("ignore_missing_imports")]
    assert not [m for o in ignored for m in o["module"] if m.startswith("pipeline")]
