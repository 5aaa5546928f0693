"""schema.org ``GovernmentService`` JSON-LD for an item page."""

from __future__ import annotations

import json
from typing import Any

from pipeline.contract.models import Department, Item
from pipeline.labels import label


def _channels(item: Item) -> list[dict[str, Any]]:
    channels = []
    if item.online_url:
        channels.append(
            {
                "@type": "ServiceChannel",
                "name": "网上办理",
                "serviceUrl": str(item.online_url),
                "availableLanguage": "zh-CN",
            }
        )
    if item.window and item.window.address:
        channel: dict[str, Any] = {
            "@type": "ServiceChannel",
            "name": "窗口办理",
            "serviceLocation": {"@type": "Place", "address": item.window.address},
        }
        if item.window.phone:
            channel["servicePhone"] = {"@type": "ContactPoint", "telephone": item.window.phone}
        channels.append(channel)
    return channels


def government_service(item: Item, department: Department, url: str, area: str) -> dict[str, Any]:
    provider: dict[str, Any] = {
        "@type": "GovernmentOrganization",
        "name": department.name,
        "identifier": department.code,
    }
    if department.phone:
        provider["telephone"] = department.phone
    if department.address:
        provider["address"] = department.address
    data: dict[str, Any] = {
        "@context": "https://schema.org",
        "@type": "GovernmentService",
        "name": item.name,
        "identifier": item.impl_code,
        "url": url,
        "serviceType": label(item.item_type),
        "provider": provider,
        "areaServed": {"@type": "AdministrativeArea", "name": area},
        "audience": [{"@type": "Audience", "audienceType": label(a)} for a in item.audiences],
        "availableChannel": _channels(item),
        "inLanguage": "zh-CN",
    }
    if item.aliases:
        data["alternateName"] = list(item.aliases)
    if item.result.name:
        data["produces"] = {"@type": "Thing", "name": item.result.name}
    return data


def script_json(data: Any) -> str:
    """JSON safe inside ``<script>``: ``<``, ``>`` and ``&`` are \\u-escaped."""
    text = json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
