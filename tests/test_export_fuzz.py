"""Fuzzing the export folder reader (#13): random bytes and JSON shapes in each file of an
export end either in a readable export or in a clean refusal (an ApprovalsError with exit code
3 and a message) — never in a traceback. Bounded: ``APPROVALS_FUZZ_EXAMPLES`` (default 40)
examples per run, each on a fresh copy of a small export with cases and evaluations."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.build import validate_export
from pipeline.errors import ApprovalsError
from pipeline.extract.folder import FolderSource
from pipeline.gates.manifest import check_case_counts
from pipeline.outcomes.cases import connect, ingest_cases
from tests.fixtures import case, small_export

EXAMPLES = int(os.environ.get("APPROVALS_FUZZ_EXAMPLES", "40"))
TARGETS = [
    "manifest.json",
    "departments.json",
    "items.json",
    "life_events.json",
    "files.json",
    "files/F0001.pdf",
    "cases/2025-09.jsonl",
    "evaluations.jsonl",
]

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text(max_size=30)
    | st.sampled_from(["", " ", "\u202e", "2025-09-01T10:00:00+08:00", "<script>", "F0001"]),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=12,
)


@pytest.fixture(scope="module")
def base_export(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("fuzz") / "export"
    departments = json.loads(
        (small_export(root, n_items=4) / "departments.json").read_text("utf-8")
    )
    items = json.loads((root / "items.json").read_text("utf-8"))
    code, impl = departments[0]["code"], items[1]["impl_code"]
    cases = [
        case(f"C{n}", impl, code, f"2025-09-{n:02d}T10:00", completed_at=f"2025-09-{n:02d}T16:00")
        for n in range(1, 9)
    ]
    evaluations = [
        {"case_id": c["case_id"], "rated_at": "2025-09-20T10:00:00+08:00", "level": 5}
        for c in cases
    ]
    small_export(root, n_items=4, cases=cases, evaluations=evaluations)
    (root / "cases").mkdir()
    (root / "cases.jsonl").rename(root / "cases" / "2025-09.jsonl")
    reseal(root)
    return root


def reseal(export: Path) -> None:
    manifest_path = export / "manifest.json"
    try:
        manifest = json.loads(manifest_path.read_bytes().removeprefix(b"\xef\xbb\xbf"))
    except (ValueError, RecursionError):
        return  # a fuzzed manifest stays as it is
    if not isinstance(manifest, dict):
        return
    manifest["sha256"] = {
        p.relative_to(export).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(export.rglob("*"))
        if p.is_file() and p.name != "manifest.json"
    }
    manifest_path.write_text(json.dumps(manifest, ensure_ascii=False), "utf-8")


def replace_a_field(data: bytes, draw) -> bytes:
    """One field of one record (of a list file or a line of a JSONL file) gets a random value."""
    if data.lstrip().startswith(b"["):
        records = json.loads(data)
        if not records:
            return json.dumps([draw(json_values)]).encode()
        index = draw(st.integers(0, len(records) - 1))
        records[index] = _changed(records[index], draw)
        return json.dumps(records, ensure_ascii=False).encode()
    if data.lstrip().startswith(b"{") and b"\n{" not in data.strip():
        return json.dumps(_changed(json.loads(data), draw), ensure_ascii=False).encode()
    lines = data.decode().splitlines()
    index = draw(st.integers(0, len(lines) - 1))
    lines[index] = json.dumps(_changed(json.loads(lines[index]), draw), ensure_ascii=False)
    return ("\n".join(lines) + "\n").encode()


def _changed(record, draw):
    if not isinstance(record, dict) or not record:
        return draw(json_values)
    key = draw(st.sampled_from(sorted(record)))
    return {**record, key: draw(json_values)}


@st.composite
def mutations(draw):
    target = draw(st.sampled_from(TARGETS))
    kind = draw(
        st.sampled_from(["bytes", "truncate", "splice", "field", "shape", "deep", "bom", "digits"])
    )
    return target, kind, draw(st.data()), draw(st.booleans())


def mutate(path: Path, kind: str, data) -> None:
    original = path.read_bytes()
    draw = data.draw
    if kind == "bytes":
        changed = draw(st.binary(max_size=200))
    elif kind == "truncate":
        changed = original[: draw(st.integers(0, max(len(original) - 1, 0)))]
    elif kind == "splice":
        at = draw(st.integers(0, len(original)))
        changed = original[:at] + draw(st.binary(min_size=1, max_size=8)) + original[at:]
    elif kind == "field" and path.suffix in {".json", ".jsonl"}:
        changed = replace_a_field(original, draw)
    elif kind == "shape":
        changed = json.dumps(draw(json_values)).encode()
    elif kind == "deep":
        depth = draw(st.sampled_from([50, 150, 999, 5_000, 100_000]))
        changed = b"[" * depth + original + b"]" * depth
    elif kind == "bom":
        changed = b"\xef\xbb\xbf" + original
    else:  # an integer JSON cannot hand to Python without a limit
        at = draw(st.integers(0, len(original)))
        changed = original[:at] + b"9" * 5_000 + original[at:]
    path.write_bytes(changed)


def read_export(export: Path) -> None:
    """What a build reads of an export before it writes anything: the catalogue (validated,
    cross-checked, counted) and the cases and evaluations (DuckDB)."""
    catalogue, report = validate_export(str(export))
    con = connect(threads=1)
    try:
        intake = ingest_cases(con, FolderSource(export), catalogue.items, None, report)
    finally:
        con.close()
    check_case_counts(catalogue, intake)


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(mutation=mutations())
def test_a_fuzzed_export_is_read_or_refused_cleanly(base_export, mutation):
    target, kind, data, resealed = mutation
    with tempfile.TemporaryDirectory(prefix="approvals-fuzz-") as folder:
        export = Path(folder) / "export"
        shutil.copytree(base_export, export)
        mutate(export / target, kind, data)
        if resealed:
            reseal(export)
        try:
            read_export(export)
        except ApprovalsError as exc:
            assert exc.exit_code == 3 and str(exc), (type(exc), str(exc))
