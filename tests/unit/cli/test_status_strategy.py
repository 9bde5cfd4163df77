"""`status` shows where a canary stands in its cell (`canary 25%`)."""

from __future__ import annotations

from shiplane.cli.cmd_status import matrix_plain, strategy_note

PROMOTION = {
    "id": "prm-1",
    "environment": "prod",
    "apps": ["web", "api"],
    "release_id": "rel-2",
    "state": "Deploying",
    "reason": "web: canary step 2/5: pause: paused until resumed",
    "strategy": {"web": "canary 25% (step 2/5: pause until resumed)"},
}


def test_the_cell_of_an_app_in_a_canary_says_its_weight() -> None:
    assert strategy_note(PROMOTION, "web") == "canary 25%"
    assert strategy_note(PROMOTION, "api") is None  # it rolls
    assert strategy_note({**PROMOTION, "strategy": None}, "web") is None
    matrix = {
        "environments": ["prod"],
        "apps": ["web", "api"],
        "cells": [
            {"app": "web", "environment": "prod", "release_alias": "1.0", "health": "Healthy"},
            {"app": "api", "environment": "prod", "release_alias": "1.0", "health": "Healthy"},
        ],
        "pending": [PROMOTION],
    }
    lines = matrix_plain(matrix, headers=False).splitlines()
    web = next(line for line in lines if line.startswith("web"))
    api = next(line for line in lines if line.startswith("api"))
    assert web.split(None, 1)[1].strip() == "1.0 Healthy +1 pending canary 25%"
    assert "canary" not in api
