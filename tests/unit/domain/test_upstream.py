"""The upstream rule, shared by the upstream gate and the auto-promoter."""

from __future__ import annotations

from datetime import UTC, datetime

from shiplane.domain.upstream import unverified_apps, upstream_status

T = datetime(2026, 11, 27, tzinfo=UTC)


def test_no_upstream_is_satisfied():
    status = upstream_status("all", [], ["web"], {})
    assert status.satisfied and status.done == () and status.missing == {}


def test_all_needs_every_environment_and_every_app():
    verified = {"qa": {"web": T, "api": T}, "perf": {"web": T}}
    status = upstream_status("all", ["qa", "perf"], ["web", "api"], verified)
    assert not status.satisfied
    assert status.done == ("qa",)
    assert status.missing == {"perf": ("api",)}
    verified["perf"] = {"web": T, "api": T}
    assert upstream_status("all", ["qa", "perf"], ["web", "api"], verified).satisfied


def test_any_needs_one_environment_with_the_whole_release():
    half = {"eu": {"web": T}, "us": {"api": T}}
    assert not upstream_status("any", ["eu", "us"], ["web", "api"], half).satisfied
    whole = {"eu": {"web": T, "api": T}}
    status = upstream_status("any", ["eu", "us"], ["web", "api"], whole)
    assert status.satisfied and status.done == ("eu",) and status.missing == {"us": ("web", "api")}


def test_none_counts_as_not_verified():
    assert unverified_apps({"qa": {"web": None, "api": T}}, "qa", ["web", "api"]) == ["web"]
    assert unverified_apps({}, "qa", ["web"]) == ["web"]
