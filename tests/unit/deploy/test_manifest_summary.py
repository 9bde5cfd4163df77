"""Pull-request mode's manifest summary: what the merge will apply, per app."""

from __future__ import annotations

from shiplane.config.models import AppConfig
from shiplane.engine.deploy.plan import AppPlan
from shiplane.engine.deploy.propose import manifest_summary
from shiplane.kube.refs import ObjRef

CONFIG = AppConfig.model_validate({"images": ["r.example/web"], "manifests": {"path": "a/web"}})
DEPLOYMENT = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"}}
SERVICE = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"}}


def test_names_the_objects_and_counts_the_new_ones() -> None:
    plan = AppPlan("web", CONFIG, None, objects=[DEPLOYMENT, SERVICE])
    assert manifest_summary(plan) == "Deployment/web, Service/web (2 objects)"  # not dry-run
    plan.live_versions = {ObjRef.of(DEPLOYMENT): "41", ObjRef.of(SERVICE): None}
    assert manifest_summary(plan) == "Deployment/web, Service/web (2 objects, 1 new)"


def test_long_lists_are_cut() -> None:
    many = [{"kind": "ConfigMap", "metadata": {"name": f"c{i}"}} for i in range(15)]
    text = manifest_summary(AppPlan("web", CONFIG, None, objects=many), shown=2)
    assert text == "ConfigMap/c0, ConfigMap/c1, +13 more (15 objects)"
