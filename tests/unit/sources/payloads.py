"""Deliveries built from each provider's documented payload schema (the URL of the
documentation is next to each builder), for the receiver tests."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

from shiplane.domain.webhook_signature import sign
from shiplane.sources.receivers import Delivery

SECRET = "s3cret-for-the-hooks-0123456789"
DIGEST = "sha256:fea8895f450959fa676bcc1df0611ea93823a735a01205fd8622846041d0c7cf"


def body(payload: Any) -> bytes:
    return json.dumps(payload).encode()


def hub_signature(data: bytes, secret: str = SECRET) -> str:
    return hmac.new(secret.encode(), data, hashlib.sha256).hexdigest()


# https://distribution.github.io/distribution/about/notifications/ ("Envelope" example:
# a manifest push followed by two layer pushes, each event with id, action, target,
# request, actor, source).
def distribution_envelope(
    repository: str = "shop/web",
    tag: str | None = "1.4.2",
    host: str = "127.0.0.1:5000",
    ids: str = "asdf-asdf-asdf-asdf",
) -> dict[str, Any]:
    def event(n: int, media_type: str, with_tag: bool) -> dict[str, Any]:
        target: dict[str, Any] = {
            "mediaType": media_type,
            "digest": DIGEST,
            "length": 708,
            "size": 708,
            "repository": repository,
            "url": f"https://{host}/v2/{repository}/manifests/{DIGEST}",
        }
        if with_tag and tag:
            target["tag"] = tag
        return {
            "id": f"{ids}-{n}",
            "timestamp": "2006-01-02T15:04:05Z",
            "action": "push",
            "target": target,
            "request": {
                "id": "asdfasdf",
                "addr": "client.local",
                "host": host,
                "method": "PUT",
                "useragent": "test/0.1",
            },
            "actor": {"name": "test-actor"},
            "source": {"addr": "hostname.local:port"},
        }

    return {
        "events": [
            event(0, "application/vnd.oci.image.manifest.v1+json", True),
            event(1, "application/vnd.docker.container.image.rootfs.diff+x-gtar", False),
            event(2, "application/vnd.docker.container.image.rootfs.diff+x-gtar", False),
        ]
    }


def distribution(payload: Any, token: str = SECRET) -> Delivery:
    return Delivery(
        headers={
            "authorization": f"Bearer {token}",
            "content-type": "application/vnd.docker.distribution.events.v2+json",
        },
        body=body(payload),
    )


# https://docs.docker.com/docker-hub/repos/manage/webhooks/ ("Example webhook payload").
def dockerhub_payload(repo_name: str = "svendowideit/testhook", tag: str = "latest") -> Any:
    return {
        "callback_url": "https://registry.hub.docker.com/u/svendowideit/testhook/hook/2141b5bi5i5b02bec211i4eeih0242eg11000a/",
        "push_data": {"pushed_at": 1417566161, "pusher": "trustedbuilder", "tag": tag},
        "repository": {
            "comment_count": 0,
            "date_created": 1417494799,
            "description": "",
            "is_official": False,
            "is_private": True,
            "is_trusted": True,
            "name": repo_name.rsplit("/", 1)[-1],
            "namespace": repo_name.split("/")[0],
            "owner": "svendowideit",
            "repo_name": repo_name,
            "repo_url": f"https://registry.hub.docker.com/u/{repo_name}/",
            "star_count": 0,
            "status": "Active",
        },
    }


def with_query_token(payload: Any, token: str | None = SECRET) -> Delivery:
    return Delivery(
        headers={"content-type": "application/json"},
        body=body(payload),
        query={} if token is None else {"token": token},
    )


# https://docs.redhat.com/en/documentation/red_hat_quay/3.4/html/use_red_hat_quay/repository_notifications
# ("Repository Push").
def quay_payload(tags: Any = ("latest",)) -> Any:
    return {
        "name": "repository",
        "repository": "dgangaia/test",
        "namespace": "dgangaia",
        "docker_url": "quay.io/dgangaia/test",
        "homepage": "https://quay.io/repository/dgangaia/repository",
        "updated_tags": list(tags) if not isinstance(tags, dict) else tags,
    }


# https://goharbor.io/docs/latest/working-with-projects/project-configuration/configure-webhooks/
# (Default payload format of PUSH_ARTIFACT).
def harbor_payload(event: str = "PUSH_ARTIFACT") -> Any:
    return {
        "type": event,
        "occur_at": 1586922308,
        "operator": "admin",
        "event_data": {
            "resources": [
                {
                    "digest": DIGEST,
                    "tag": "v1.0",
                    "resource_url": "harbor.example.com/library/busybox:v1.0",
                }
            ],
            "repository": {
                "date_created": 1586922308,
                "name": "busybox",
                "namespace": "library",
                "repo_full_name": "library/busybox",
                "repo_type": "private",
            },
        },
    }


def harbor(payload: Any, auth: str | None = SECRET) -> Delivery:
    headers = {"content-type": "application/json"}
    if auth is not None:
        headers["authorization"] = auth
    return Delivery(headers=headers, body=body(payload))


# https://docs.github.com/en/webhooks/webhook-events-and-payloads#push and #package;
# signature: https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries
def github_push(ref: str = "refs/heads/main") -> Any:
    return {
        "ref": ref,
        "before": "0" * 40,
        "after": "6113728f27ae82c7b1a177c8d03f9e96e0adf246",
        "created": False,
        "deleted": False,
        "forced": False,
        "repository": {
            "id": 1296269,
            "name": "config",
            "full_name": "acme/config",
            "html_url": "https://github.com/acme/config",
            "clone_url": "https://github.com/acme/config.git",
            "ssh_url": "git@github.com:acme/config.git",
        },
        "pusher": {"name": "octocat", "email": "octocat@github.com"},
        "head_commit": {"id": "6113728f27ae82c7b1a177c8d03f9e96e0adf246"},
    }


def github_package(action: str = "published", package_type: str = "container") -> Any:
    return {
        "action": action,
        "package": {
            "id": 245669,
            "name": "Web",
            "namespace": "acme",
            "ecosystem": "CONTAINER",
            "package_type": package_type,
            "html_url": "https://github.com/orgs/acme/packages/container/package/web",
            "owner": {"login": "acme", "id": 1},
            "package_version": {
                "id": 1,
                "version": DIGEST,
                "name": DIGEST,
                "html_url": "https://github.com/orgs/acme/packages/container/web/1",
                "package_url": "ghcr.io/acme/web:1.4.2",
                "container_metadata": {"tag": {"name": "1.4.2", "digest": DIGEST}},
            },
        },
        "repository": {"full_name": "acme/web"},
        "sender": {"login": "octocat"},
    }


def github(event: str, payload: Any, *, secret: str = SECRET, delivery: str = "d-1") -> Delivery:
    data = body(payload)
    return Delivery(
        headers={
            "x-github-event": event,
            "x-github-delivery": delivery,
            "x-hub-signature-256": "sha256=" + hub_signature(data, secret),
            "content-type": "application/json",
        },
        body=data,
    )


# https://docs.gitlab.com/user/project/integrations/webhook_events/#push-events
def gitlab_push(kind: str = "push", ref: str = "refs/heads/main") -> Any:
    return {
        "object_kind": kind,
        "event_name": kind,
        "before": "95790bf891e76fee5e1747ab589903a6a1f80f22",
        "after": "da1560886d4f094c3e6c9ef40349f7d38b5d27d7",
        "ref": ref,
        "user_username": "jsmith",
        "project_id": 15,
        "project": {
            "id": 15,
            "name": "Diaspora",
            "web_url": "http://example.com/mike/diaspora",
            "git_ssh_url": "git@example.com:mike/diaspora.git",
            "git_http_url": "http://example.com/mike/diaspora.git",
            "path_with_namespace": "mike/diaspora",
        },
        "repository": {
            "name": "Diaspora",
            "url": "git@example.com:mike/diaspora.git",
            "git_http_url": "http://example.com/mike/diaspora.git",
        },
        "commits": [],
        "total_commits_count": 0,
    }


def gitlab(event: str, payload: Any, token: str | None = SECRET) -> Delivery:
    headers = {"x-gitlab-event": event, "x-gitlab-event-uuid": "uuid-1"}
    if token is not None:
        headers["x-gitlab-token"] = token
    return Delivery(headers=headers, body=body(payload))


# https://docs.gitea.com/usage/webhooks (push payload; X-Gitea-Signature is the hex
# HMAC-SHA256 of the body) and Gitea's PackagePayload (modules/structs/hook.go).
def gitea_push() -> Any:
    return {
        "ref": "refs/heads/develop",
        "before": "28e1879d029cb852e4844d9c718537df08844e03",
        "after": "bffeb74224043ba2feb48d137756c8a9331c449a",
        "compare_url": "http://localhost:3000/gitea/webhooks/compare/28e1...bffe",
        "commits": [],
        "repository": {
            "id": 140,
            "name": "webhooks",
            "full_name": "gitea/webhooks",
            "html_url": "http://localhost:3000/gitea/webhooks",
            "clone_url": "http://localhost:3000/gitea/webhooks.git",
        },
        "pusher": {"login": "gitea"},
        "sender": {"login": "gitea"},
    }


def gitea_package(package_type: str = "container") -> Any:
    return {
        "action": "created",
        "package": {
            "id": 7,
            "owner": {"id": 1, "login": "Shop"},
            "creator": {"id": 1, "login": "ci"},
            "type": package_type,
            "name": "web",
            "version": "1.4.2",
            "html_url": "http://gitea.local:3000/Shop/-/packages/container/web/1.4.2",
            "created_at": "2026-12-06T06:00:00Z",
        },
        "sender": {"login": "ci"},
    }


def gitea(event: str, payload: Any, *, secret: str = SECRET) -> Delivery:
    data = body(payload)
    return Delivery(
        headers={
            "x-gitea-event": event,
            "x-gitea-delivery": "g-1",
            "x-gitea-signature": hub_signature(data, secret),
        },
        body=data,
    )


# docs/sources.md, "Receivers" (generic): signed like docs/notifications.md.
def generic(payload: Any, *, timestamp: int, secret: str = SECRET) -> Delivery:
    data = body(payload)
    return Delivery(
        headers={
            "x-shiplane-timestamp": str(timestamp),
            "x-shiplane-signature": sign(secret, timestamp, data),
            "x-shiplane-delivery": f"ci-{timestamp}",
        },
        body=data,
    )
