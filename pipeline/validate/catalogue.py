"""The catalogue: departments, files, items and life events of one export, validated record by
record and checked against each other and against the manifest.

One bad record is skipped and reported; a broken export (manifest mismatch, unreadable file,
more than the allowed share of invalid records) raises ExportBroken and nothing is published.
An entity with more records than the manifest declares is refused at the first record too many
(:func:`check_not_past_count`): what a run holds grows with the records it reads (a page of
200,000 empty ``{}`` is 0.6 MB and peaked at 841 MB), so it reads no more than the manifest
promised.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TypeVar

from pydantic import ValidationError

from pipeline.contract.models import (
    ENTITY_KEYS,
    Contract,
    Department,
    File,
    Item,
    ItemStatus,
    LifeEvent,
    Manifest,
)
from pipeline.errors import ExportBroken
from pipeline.extract import ExportSource
from pipeline.validate.filetypes import content_matches, extension_problem, unsafe_content
from pipeline.validate.mapping import MappingProfile
from pipeline.validate.problems import Problem, Report, excerpt
from pipeline.validate.records import validate_record

FileSink = Callable[[File, bytes], None]
MAX_FILE_NAME_BYTES = 255
"""A file is written under its upstream name: no file system takes a longer one (95 Chinese
characters are 285 bytes, within the contract's 200 characters)."""
M = TypeVar("M", bound=Contract)


@dataclass
class Catalogue:
    manifest: Manifest
    departments: dict[str, Department] = field(default_factory=dict)
    files: dict[str, File] = field(default_factory=dict)
    items: dict[str, Item] = field(default_factory=dict)
    life_events: dict[str, LifeEvent] = field(default_factory=dict)

    def items_of(self, department_code: str) -> list[Item]:
        return [i for i in self.items.values() if i.department_code == department_code]


def read_manifest(source: ExportSource) -> Manifest:
    raw = source.read_manifest()
    try:
        return Manifest.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ExportBroken(
            f"manifest.json 无效：{where} — {first['msg']}（{excerpt(first.get('input'))}）"
        ) from exc


def check_checksums(source: ExportSource, manifest: Manifest) -> None:
    mismatches = source.verify_checksums(manifest.sha256)
    if mismatches:
        shown = "\n  ".join(mismatches[:10])
        raise ExportBroken(f"导出与 manifest 的校验和不符，拒绝发布：\n  {shown}")


def check_not_past_count(
    source: ExportSource, manifest: Manifest, entity: str, read: int, where: str
) -> None:
    """Refuse the export (ExportBroken) once ``read`` records of ``entity`` exceed the count
    its manifest declares, naming the entity, the count and where the record too many is."""
    declared = manifest.counts.get(entity)
    if declared is not None and read > declared:
        raise ExportBroken(
            f"{entity}: 导出中的记录多于 manifest 声明的 {declared} 条（第 {read} 条："
            f"{source.description} {where}）——导出与 manifest 不符，已停止读取，拒绝发布"
        )


def _validated(
    source: ExportSource,
    manifest: Manifest,
    entity: str,
    kind: type[M],
    profile: MappingProfile,
    report: Report,
) -> Iterator[M]:
    seen: set[str] = set()
    key = ENTITY_KEYS[entity]
    for raw in source.iter_records(entity):
        report.read[entity] += 1
        check_not_past_count(source, manifest, entity, report.read[entity], raw.where)
        model, problems = validate_record(raw, profile)
        for problem in problems:
            report.add(problem)
        if model is None:
            continue
        code = getattr(model, key)
        if code in seen:
            report.add(
                Problem(
                    entity,
                    code,
                    key,
                    "编码重复：只保留第一条",
                    code,
                    "error",
                    raw.where,
                    getattr(model, "department_code", ""),
                )
            )
            continue
        seen.add(code)
        assert isinstance(model, kind), "validate_record validates with ENTITY_MODELS[entity]"
        yield model


def _accept_file(source: ExportSource, file: File, report: Report, sink: FileSink) -> bool:
    def problem(message: str, value: str = "", field_name: str = "content") -> bool:
        report.add(Problem("files", file.file_id, field_name, message, value, "error"))
        return False

    wrong_extension = extension_problem(file.media_type, file.filename)
    if wrong_extension:
        return problem(wrong_extension, excerpt(file.filename), "filename")
    size = len(file.filename.encode("utf-8"))
    if size > MAX_FILE_NAME_BYTES:
        limit = f"文件系统至多允许 {MAX_FILE_NAME_BYTES} 字节"
        message = f"文件名过长：{size} 字节（UTF-8），{limit}，不提供下载"
        return problem(message, excerpt(file.filename), "filename")
    try:
        data = source.fetch_file(file.file_id, file.extension)
    except ExportBroken as exc:
        return problem(str(exc))
    if len(data) != file.size_bytes:
        return problem(f"文件大小不符：声明 {file.size_bytes} 字节，实际 {len(data)} 字节")
    if hashlib.sha256(data).hexdigest() != file.sha256:
        return problem("sha256 与 files.json 声明不符", file.sha256[:12] + "…")
    if not content_matches(file.media_type, data):
        return problem(f"文件内容不是声明的类型 {file.media_type}", excerpt(data[:8]))
    unsafe = unsafe_content(file.media_type, data)
    if unsafe:
        return problem(unsafe, file.filename)
    sink(file, data)
    return True


def _check_item_links(item: Item, catalogue: Catalogue, report: Report) -> bool:
    if item.department_code not in catalogue.departments:
        report.add(
            Problem(
                "items",
                item.impl_code,
                "department_code",
                "实施主体不在 departments 中",
                item.department_code,
                "error",
                "",
                item.department_code,
            )
        )
        return False
    for code in item.joint_departments:
        if code not in catalogue.departments:
            report.add(
                Problem(
                    "items",
                    item.impl_code,
                    "joint_departments",
                    "联办机构不在 departments 中",
                    code,
                    "warning",
                    "",
                    item.department_code,
                )
            )
    for file_id in item.file_ids():
        if file_id not in catalogue.files:
            report.add(
                Problem(
                    "items",
                    item.impl_code,
                    "materials",
                    "引用的文件不存在或未通过检查，不提供下载",
                    file_id,
                    "warning",
                    "",
                    item.department_code,
                )
            )
    return True


def _check_life_event(event: LifeEvent, catalogue: Catalogue, report: Report) -> LifeEvent:
    steps = []
    for index, step in enumerate(event.steps):
        known = [
            c
            for c in step.items
            if c in catalogue.items and catalogue.items[c].status is not ItemStatus.abolished
        ]
        for code in set(step.items) - set(known):
            report.add(
                Problem(
                    "life_events",
                    event.code,
                    f"steps.{index}.items",
                    "引用的事项不存在或已取消，已从该步骤中移除",
                    code,
                    "warning",
                )
            )
        steps.append(step.model_copy(update={"items": known}))
    return event.model_copy(update={"steps": steps})


def build_catalogue(
    source: ExportSource, profile: MappingProfile, report: Report, sink: FileSink
) -> Catalogue:
    """Extract + validate + cross-check one export. ``sink`` receives each accepted file's bytes.
    Whether the export as a whole may be published is :func:`check_export`'s call."""
    manifest = read_manifest(source)
    check_checksums(source, manifest)
    catalogue = Catalogue(manifest)
    for department in _validated(source, manifest, "departments", Department, profile, report):
        catalogue.departments[department.code] = department
    for file in _validated(source, manifest, "files", File, profile, report):
        if _accept_file(source, file, report, sink):
            catalogue.files[file.file_id] = file
    for item in _validated(source, manifest, "items", Item, profile, report):
        if _check_item_links(item, catalogue, report):
            catalogue.items[item.impl_code] = item
    for event in _validated(source, manifest, "life_events", LifeEvent, profile, report):
        catalogue.life_events[event.code] = _check_life_event(event, catalogue, report)
    report.kept.update(
        {
            "departments": len(catalogue.departments),
            "files": len(catalogue.files),
            "items": len(catalogue.items),
            "life_events": len(catalogue.life_events),
        }
    )
    return catalogue
