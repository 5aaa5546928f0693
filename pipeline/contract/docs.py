"""Generate the export contract's JSON Schema and OpenAPI description from the models.

``approvals contract --out docs/`` writes both; a test fails when the committed files differ
from what the models generate, so the published contract never drifts from the code.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from pipeline.canonical_json import dump_json
from pipeline.contract.models import ENTITY_MODELS, SCHEMA_VERSION, Manifest

SCHEMA_ID = "https://approvals.example.gov.cn/contract/export-contract.schema.json"
ENTITY_TITLES = {
    "Department": "Department（实施主体）",
    "Item": "Item（事项）",
    "LifeEvent": "LifeEvent（一件事）",
    "File": "File（文件）",
    "Case": "Case（办件）",
    "Evaluation": "Evaluation（好差评）",
    "Manifest": "Manifest（导出清单）",
}
LIST_ENDPOINTS = {
    "departments": ("/v1/departments", "Department"),
    "items": ("/v1/items", "Item"),
    "life_events": ("/v1/life-events", "LifeEvent"),
    "files": ("/v1/files", "File"),
    "cases": ("/v1/cases", "Case"),
    "evaluations": ("/v1/evaluations", "Evaluation"),
}


def _definitions(ref_template: str) -> dict[str, Any]:
    kinds: tuple[type[BaseModel], ...] = (*ENTITY_MODELS.values(), Manifest)
    models: list[tuple[type[BaseModel], JsonSchemaMode]] = [(m, "validation") for m in kinds]
    _, schema = models_json_schema(models, ref_template=ref_template)
    return schema["$defs"]


def json_schema() -> dict[str, Any]:
    defs = _definitions("#/$defs/{model}")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": f"审批系统导出契约 v{SCHEMA_VERSION}",
        "description": "每个实体一个定义；文件夹形式中各列表文件是对应实体的 JSON 数组（cases/evaluations 为 JSONL）。",
        "$defs": defs,
        "oneOf": [{"$ref": f"#/$defs/{name}"} for name in ENTITY_TITLES],
    }


def _page_schema(model: str) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["data", "next"],
        "properties": {
            "data": {"type": "array", "items": {"$ref": f"#/components/schemas/{model}"}},
            "next": {"type": ["string", "null"], "description": "下一页游标；最后一页为 null"},
        },
    }


def _list_operation(entity: str, model: str) -> dict[str, Any]:
    parameters = [{"name": "cursor", "in": "query", "schema": {"type": "string"}}]
    if entity in ("cases", "evaluations"):
        parameters.append(
            {
                "name": "updated_since",
                "in": "query",
                "schema": {"type": "string", "format": "date-time"},
            }
        )
    parameters.append({"name": "If-None-Match", "in": "header", "schema": {"type": "string"}})
    return {
        "get": {
            "operationId": f"list_{entity}",
            "summary": f"{ENTITY_TITLES[model]} 列表（游标分页）",
            "parameters": parameters,
            "responses": {
                "200": {
                    "description": "一页记录",
                    "headers": {"ETag": {"schema": {"type": "string"}}},
                    "content": {"application/json": {"schema": _page_schema(model)}},
                },
                "304": {"description": "自上次请求（If-None-Match）以来未变化"},
                "401": {"description": "缺少或错误的 Bearer 令牌"},
                "429": {"description": "请求过多；Retry-After 给出等待秒数"},
            },
        }
    }


def openapi() -> dict[str, Any]:
    paths: dict[str, Any] = {
        "/v1/manifest": {
            "get": {
                "operationId": "get_manifest",
                "summary": "导出清单：批次、时间、各实体条数与校验和",
                "responses": {
                    "200": {
                        "description": "清单",
                        "content": {
                            "application/json": {
                                "schema": {"$ref": "#/components/schemas/Manifest"}
                            }
                        },
                    }
                },
            }
        }
    }
    for entity, (path, model) in LIST_ENDPOINTS.items():
        paths[path] = _list_operation(entity, model)
    paths["/v1/files/{file_id}"] = {
        "get": {
            "operationId": "get_file",
            "summary": "文件内容（PDF、DOC/DOCX、XLS/XLSX、ODT、JPEG、PNG）",
            "parameters": [
                {"name": "file_id", "in": "path", "required": True, "schema": {"type": "string"}}
            ],
            "responses": {
                "200": {"description": "文件字节", "content": {"application/octet-stream": {}}},
                "404": {"description": "无此文件"},
            },
        }
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "审批系统导出接口",
            "version": SCHEMA_VERSION,
            "description": "公开审批流水线读取的导出接口。认证：Authorization: Bearer <令牌>（令牌来自环境变量，不写入任何文件）。",
        },
        "servers": [{"url": "https://approval-system.example.gov.cn/export"}],
        "security": [{"bearer": []}],
        "paths": paths,
        "components": {
            "schemas": _definitions("#/components/schemas/{model}"),
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }


def write_contract_docs(out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, document in (
        ("export-contract.schema.json", json_schema()),
        ("openapi.json", openapi()),
    ):
        (out / name).write_text(dump_json(document), encoding="utf-8")
        written.append(out / name)
    return written
