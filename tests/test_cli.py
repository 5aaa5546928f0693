"""The ``approvals`` command, driven as a user drives it (real processes)."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from pipeline.cli import build_parser
from tests.fixtures import small_export

ROOT = Path(__file__).resolve().parent.parent


def approvals(*args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pipeline.cli", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        **kwargs,
    )


@pytest.mark.parametrize("command", ["build", "validate", "serve", "contract"])
def test_every_subcommand_has_help(command):
    result = approvals(command, "--help")
    assert result.returncode == 0 and f"usage: approvals {command}" in result.stdout


def test_validate_a_good_export_exits_0(tmp_path):
    result = approvals("validate", "--export", str(small_export(tmp_path / "x")))
    assert result.returncode == 0, result.stderr
    assert "错误 0 个" in result.stdout


def test_validate_prints_each_problem_and_exits_1(tmp_path):
    export = small_export(tmp_path / "x", n_items=12)
    items = json.loads((export / "items.json").read_text("utf-8"))
    items[3]["visits_required"] = -1
    from tests.fixtures import write_export

    write_export(export, json.loads((export / "departments.json").read_text("utf-8")), items)
    result = approvals("validate", "--export", str(export))
    assert result.returncode == 1
    assert (
        f"[error] items {items[3]['impl_code']} · visits_required — 不能小于 0：-1" in result.stdout
    )


def test_a_broken_export_exits_3_with_the_reason(tmp_path):
    export = small_export(tmp_path / "x")
    (export / "items.json").write_bytes(b"[")
    result = approvals("validate", "--export", str(export))
    assert result.returncode == 3 and "items.json: sha256 不符" in result.stderr


def test_a_missing_export_folder_is_a_clear_error(tmp_path):
    result = approvals("build", "--export", str(tmp_path / "nope"), "--site", str(tmp_path / "s"))
    assert result.returncode == 3 and "导出目录不存在" in result.stderr
    assert not (tmp_path / "s" / "current").exists()


def test_unknown_profile_is_a_configuration_error(tmp_path):
    result = approvals("validate", "--export", str(small_export(tmp_path / "x")), "--profile", "zj")
    assert result.returncode == 5 and "找不到映射配置" in result.stderr


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_build_then_serve(tmp_path):
    export = small_export(tmp_path / "x")
    built = approvals("build", "--export", str(export), "--site", str(tmp_path / "site"))
    assert built.returncode == 0, built.stderr
    assert "已发布版本 r000001-20261125T233000-test-export" in built.stdout
    port = _free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pipeline.cli",
            "serve",
            "--site",
            str(tmp_path / "site"),
            "--port",
            str(port),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        for _ in range(100):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as response:
                    body = response.read().decode("utf-8")
                    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
                    assert response.headers["X-Content-Type-Options"] == "nosniff"
                break
            except OSError:
                time.sleep(0.1)
        else:
            pytest.fail("serve did not answer")
        assert "宝山区公开审批" in body
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_contract_docs_are_in_sync_with_the_models(tmp_path):
    result = approvals("contract", "--out", str(tmp_path))
    assert result.returncode == 0
    for name in ("export-contract.schema.json", "openapi.json"):
        assert (tmp_path / name).read_bytes() == (ROOT / "docs" / name).read_bytes(), (
            f"docs/{name} is stale: run `make contract`"
        )


def test_openapi_document_is_valid_and_json_schema_is_valid():
    from jsonschema import Draft202012Validator

    schema = json.loads((ROOT / "docs/export-contract.schema.json").read_text("utf-8"))
    Draft202012Validator.check_schema(schema)
    openapi = json.loads((ROOT / "docs/openapi.json").read_text("utf-8"))
    assert openapi["openapi"] == "3.1.0" and "/v1/items" in openapi["paths"]
    for ref in json.dumps(openapi).split('"$ref": "')[1:]:
        name = ref.split('"')[0].rsplit("/", 1)[-1]
        assert name in openapi["components"]["schemas"], name


def test_every_cli_option_is_documented_in_the_readme():
    readme = (ROOT / "README.md").read_text("utf-8")
    parser = build_parser()
    missing = []
    for name, sub in parser._subparsers._group_actions[0].choices.items():  # noqa: SLF001
        if f"approvals {name}" not in readme:
            missing.append(f"approvals {name}")
        for action in sub._actions:  # noqa: SLF001
            missing += [
                o
                for o in action.option_strings
                if o.startswith("--") and o != "--help" and o not in readme
            ]
    assert missing == []
