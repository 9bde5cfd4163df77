"""Parsing of command-line arguments shared by several commands (usage errors exit 2)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from shiplane.cli.output import usage_error


def parse_artifact_args(values: Sequence[str]) -> dict[str, str]:
    """`["checkout=registry/shop/checkout:1.4"]` -> `{"checkout": "registry/...:1.4"}`.

    Checked locally with the same rules as the server, so a typo is a usage error (exit 2)
    with a precise message before anything is sent.
    """
    # Imported here: the release rules compile many patterns, and only `release create`
    # needs them (CLI start-up budget).
    from shiplane.domain.releases import (
        ReleaseValidationError,
        parse_image_ref,
        validate_app_name,
    )

    artifacts: dict[str, str] = {}
    for value in values:
        app, sep, image = value.partition("=")
        app, image = app.strip(), image.strip()
        if not sep or not app or not image:
            raise usage_error(
                f"{value!r} is not APP=IMAGE (e.g. checkout=registry.example/shop/checkout:1.4.2)",
                "APP=IMAGE",
            )
        if app in artifacts:
            raise usage_error(f"app {app!r} is given twice", "APP=IMAGE")
        try:
            validate_app_name(app)
            parse_image_ref(image)
        except ReleaseValidationError as exc:
            raise usage_error(str(exc), "APP=IMAGE") from None
        artifacts[app] = image
    return artifacts


def parse_key_values(values: Sequence[str], option: str) -> dict[str, str]:
    pairs: dict[str, str] = {}
    for value in values:
        key, sep, item = value.partition("=")
        if not sep or not key.strip():
            raise usage_error(f"{value!r} is not KEY=VALUE (e.g. branch=main)", option)
        pairs[key.strip()] = item
    return pairs


def check_time(value: str | None, option: str) -> str | None:
    """Accept ISO 8601 (`2026-05-01`, `2026-05-01T12:00:00Z`); pass it on unchanged."""
    if value is None:
        return None
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise usage_error(
            f"{value!r} is not an ISO 8601 time (e.g. 2026-05-01 or 2026-05-01T12:00:00Z)",
            option,
        ) from None
    return value
