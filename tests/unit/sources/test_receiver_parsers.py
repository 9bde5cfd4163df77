"""Each receiver parses its provider's documented payload (tests/unit/sources/payloads.py
cites the documentation) into where something changed, and nothing more."""

from __future__ import annotations

import pytest

from shiplane.config.models import ReceiverConfig
from shiplane.sources.receivers import (
    RECEIVERS,
    DeliveryRefused,
    GitChange,
    ImageChange,
    PullChange,
)
from tests.unit.sources import payloads as p


def config(type_: str, **extra: object) -> ReceiverConfig:
    return ReceiverConfig.model_validate({"type": type_, "secretEnv": "HOOK_SECRET", **extra})


def parse(type_: str, delivery: p.Delivery, **extra: object):  # type: ignore[no-untyped-def]
    return RECEIVERS.get(type_).plugin.parse(delivery, config(type_, **extra))


def test_every_type_is_registered_with_the_receiver_schema() -> None:
    assert RECEIVERS.names() == sorted(
        ["distribution", "dockerhub", "generic", "gitea", "github", "gitlab", "harbor", "quay"]
    )
    assert all(entry.schema is ReceiverConfig for entry in RECEIVERS)


def test_distribution_takes_manifest_pushes_and_skips_blobs() -> None:
    parsed = parse("distribution", p.distribution(p.distribution_envelope()))
    assert parsed.images == (ImageChange("127.0.0.1:5000", "shop/web", "1.4.2", p.DIGEST),)
    assert parsed.ignored is None


def test_distribution_ignores_pulls_and_blob_only_envelopes() -> None:
    envelope = p.distribution_envelope()
    for event in envelope["events"]:
        event["action"] = "pull"
    parsed = parse("distribution", p.distribution(envelope))
    assert parsed.images == () and parsed.ignored


def test_distribution_registry_option_replaces_the_payload_host() -> None:
    envelope = p.distribution_envelope(host="registry.internal:5000")
    parsed = parse("distribution", p.distribution(envelope), registry="127.0.0.1:5000")
    assert [i.host for i in parsed.images] == ["127.0.0.1:5000"]


def test_distribution_delivery_id_is_the_event_ids() -> None:
    delivery = p.distribution(p.distribution_envelope())
    assert RECEIVERS.get("distribution").plugin.delivery_id(delivery) == (
        "asdf-asdf-asdf-asdf-0,asdf-asdf-asdf-asdf-1,asdf-asdf-asdf-asdf-2"
    )


@pytest.mark.parametrize(
    "payload",
    [[], {"events": "x"}, {"events": [{"action": "push", "target": "x"}]}],
)
def test_distribution_refuses_what_is_not_an_envelope(payload: object) -> None:
    with pytest.raises(DeliveryRefused) as refused:
        parse("distribution", p.distribution(payload))
    assert refused.value.reason == "malformed"


def test_dockerhub() -> None:
    parsed = parse("dockerhub", p.with_query_token(p.dockerhub_payload()))
    assert parsed.images == (ImageChange("docker.io", "svendowideit/testhook", "latest"),)
    official = parse("dockerhub", p.with_query_token(p.dockerhub_payload("nginx", "1.27")))
    assert official.images == (ImageChange("docker.io", "library/nginx", "1.27"),)


def test_quay_tags_as_list_and_as_older_map() -> None:
    parsed = parse("quay", p.with_query_token(p.quay_payload(["latest", "v2"])))
    assert parsed.images == (
        ImageChange("quay.io", "dgangaia/test", "latest"),
        ImageChange("quay.io", "dgangaia/test", "v2"),
    )
    older = parse("quay", p.with_query_token(p.quay_payload({"latest": "b750fe79"})))
    assert older.images == (ImageChange("quay.io", "dgangaia/test", "latest"),)
    build = parse("quay", p.with_query_token({**p.quay_payload(), "build_id": "296e"}))
    assert build.images == () and build.ignored


def test_harbor_push_artifact_and_cloudevents() -> None:
    parsed = parse("harbor", p.harbor(p.harbor_payload()))
    assert parsed.images == (
        ImageChange("harbor.example.com", "library/busybox", "v1.0", p.DIGEST),
    )
    cloud = {
        "specversion": "1.0",
        "id": "4b2f89a6",
        "type": "harbor.artifact.pushed",
        "data": p.harbor_payload()["event_data"],
    }
    assert parse("harbor", p.harbor(cloud)).images == parsed.images
    harbor = RECEIVERS.get("harbor").plugin
    assert harbor.delivery_id(p.harbor(cloud)) == "4b2f89a6"
    assert harbor.delivery_id(p.harbor(p.harbor_payload())) is None
    pulled = parse("harbor", p.harbor(p.harbor_payload("PULL_ARTIFACT")))
    assert pulled.images == () and "PULL_ARTIFACT" in (pulled.ignored or "")


def test_github_push_and_container_package() -> None:
    push = parse("github", p.github("push", p.github_push()))
    # GitHub's sample lists no commits: the files are not known (None), the head is.
    assert push.commits == (
        GitChange(
            "https://github.com/acme/config.git",
            "refs/heads/main",
            "6113728f27ae82c7b1a177c8d03f9e96e0adf246",
            None,
        ),
    )
    package = parse("github", p.github("package", p.github_package()))
    assert package.images == (ImageChange("ghcr.io", "acme/web", "1.4.2"),)


def test_github_package_without_url_is_built_from_owner_and_name() -> None:
    payload = p.github_package()
    del payload["package"]["package_version"]["package_url"]
    parsed = parse("github", p.github("package", payload))
    assert parsed.images == (ImageChange("ghcr.io", "acme/web", "1.4.2"),)


def test_github_ignores_ping_other_actions_and_other_package_types() -> None:
    assert parse("github", p.github("ping", {"zen": "Keep it simple."})).ignored
    assert parse("github", p.github("package", p.github_package(action="deleted"))).ignored
    npm = parse("github", p.github("package", p.github_package(package_type="npm")))
    assert npm.images == () and npm.ignored


def test_gitlab_push_and_tag_push() -> None:
    parsed = parse("gitlab", p.gitlab("Push Hook", p.gitlab_push()))
    assert parsed.commits == (
        GitChange(
            "http://example.com/mike/diaspora.git",
            "refs/heads/main",
            "da1560886d4f094c3e6c9ef40349f7d38b5d27d7",
            (),
        ),
    )
    tag = parse("gitlab", p.gitlab("Tag Push Hook", p.gitlab_push("tag_push", "refs/tags/v1")))
    assert tag.commits[0].ref == "refs/tags/v1"
    assert parse("gitlab", p.gitlab("Issue Hook", {"object_kind": "issue"})).ignored


def test_gitea_push_and_container_package() -> None:
    push = parse("gitea", p.gitea("push", p.gitea_push()))
    assert push.commits == (
        GitChange(
            "http://localhost:3000/gitea/webhooks.git",
            "refs/heads/develop",
            "bffeb74224043ba2feb48d137756c8a9331c449a",
            (),
        ),
    )
    package = parse("gitea", p.gitea("package", p.gitea_package()))
    assert package.images == (ImageChange("gitea.local:3000", "shop/web", "1.4.2"),)
    assert parse("gitea", p.gitea("package", p.gitea_package("npm"))).ignored


def test_generic_images_as_text_and_objects_and_git() -> None:
    payload = {
        "images": [
            "127.0.0.1:5000/shop/web:1.4.2",
            {"registry": "ghcr.io", "repository": "acme/api", "digest": p.DIGEST},
        ],
        "git": [{"url": "https://git.example/shop/config.git", "ref": "refs/heads/main"}],
    }
    parsed = parse("generic", p.generic(payload, timestamp=1_700_000_000))
    assert parsed.images == (
        ImageChange("127.0.0.1:5000", "shop/web", "1.4.2"),
        ImageChange("ghcr.io", "acme/api", None, p.DIGEST),
    )
    assert parsed.commits == (GitChange("https://git.example/shop/config.git", "refs/heads/main"),)


@pytest.mark.parametrize("payload", [{}, {"images": "x"}, {"images": [{"registry": "h"}]}])
def test_generic_refuses_a_body_that_names_nothing_or_is_malformed(payload: object) -> None:
    with pytest.raises(DeliveryRefused) as refused:
        parse("generic", p.generic(payload, timestamp=1_700_000_000))
    assert refused.value.reason == "malformed"


def test_a_body_that_is_not_json_is_malformed() -> None:
    delivery = p.Delivery(headers={"x-github-event": "push"}, body=b"\xff{not json")
    with pytest.raises(DeliveryRefused) as refused:
        parse("github", delivery)
    assert refused.value.reason == "malformed"


def test_gitea_and_github_pull_request_events_name_the_pull_request() -> None:
    payload = {
        "action": "closed",
        "number": 12,
        "pull_request": {"number": 12, "merged": True},
        "repository": {"clone_url": "https://git.example/shop/gitops.git"},
    }
    gitea = parse("gitea", p.gitea("pull_request", payload))
    github = parse("github", p.github("pull_request", payload))
    for parsed in (gitea, github):
        assert parsed.pulls == (PullChange("https://git.example/shop/gitops.git", 12, "closed"),)
        assert parsed.ignored is None and parsed.commits == ()
    with pytest.raises(DeliveryRefused, match="number"):
        parse("gitea", p.gitea("pull_request", {**payload, "number": "12"}))


def test_gitlab_merge_request_hook_names_the_merge_request() -> None:
    payload = {
        "object_kind": "merge_request",
        "project": {"git_http_url": "https://gitlab.example/shop/gitops.git"},
        "object_attributes": {"iid": 4, "action": "merge", "state": "merged"},
    }
    parsed = parse("gitlab", p.gitlab("Merge Request Hook", payload))
    assert parsed.pulls == (PullChange("https://gitlab.example/shop/gitops.git", 4, "merge"),)
    with pytest.raises(DeliveryRefused, match="iid"):
        parse("gitlab", p.gitlab("Merge Request Hook", {**payload, "object_attributes": {}}))
