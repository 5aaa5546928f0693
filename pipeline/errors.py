"""Named exceptions. Only the CLI turns them into a message and an exit code."""

from __future__ import annotations


class ApprovalsError(Exception):
    """Base of every error the pipeline raises on purpose."""

    exit_code = 1


class ExportBroken(ApprovalsError):
    """The export as a whole cannot be trusted (manifest mismatch, truncated file, bad JSON,
    too many invalid records). Nothing is published."""

    exit_code = 3


class UpstreamUnavailable(ApprovalsError):
    """The export API could not be reached or kept failing past the retries and deadline."""

    exit_code = 4


class ConfigurationError(ApprovalsError):
    """A setting, profile or command-line value is wrong."""

    exit_code = 5


class UnsafePath(ExportBroken):
    """A name from upstream would have escaped the output folder."""

    exit_code = 3


class GateRefused(ExportBroken):
    """A release gate (shrink guard, schema validation, privacy, k-anonymity, site smoke check)
    refused to publish."""

    exit_code = 3


class NothingChanged(ApprovalsError):
    """``--if-changed``: the export is the one already live."""

    exit_code = 7


class BuildLocked(ApprovalsError):
    """Another build holds the lock."""

    exit_code = 8


class DatasetInvalid(ApprovalsError):
    """The open-data files of a release do not match their checksums or their Table Schema.
    Nothing is published."""

    exit_code = 3


class SearchUnavailable(ApprovalsError):
    """The live release has no usable search index (built before search existed, or damaged)."""

    exit_code = 5


class BadSearchRequest(ApprovalsError):
    """A search query or parameter is out of bounds (too long, unknown filter, bad page)."""

    exit_code = 2


SHOWN_CHARS = 200
"""How much of a value from outside (a setting, an upstream answer) a message quotes."""


def cut(text: str, limit: int = SHOWN_CHARS) -> str:
    """``text`` for a message: its first ``limit`` characters and how long it was — never the
    whole of a value someone else chose (a 20 MB cursor, a YAML value expanded to 580 MB)."""
    return text if len(text) <= limit else f"{text[:limit]}…（共 {len(text)} 个字符）"
