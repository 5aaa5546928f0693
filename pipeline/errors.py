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
