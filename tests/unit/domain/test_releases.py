from __future__ import annotations

import pytest

from shiplane.domain import releases as r
from shiplane.domain.releases import ImageRef, ImageRefError, ReleaseValidationError

DIGEST = "sha256:" + "ab" * 32


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            f"registry.example/shop/checkout@{DIGEST}",
            ImageRef("registry.example", "shop/checkout", None, DIGEST),
        ),
        (
            "registry.example/shop/checkout:1.4.2",
            ImageRef("registry.example", "shop/checkout", "1.4.2", None),
        ),
        (
            f"registry.example/shop/checkout:1.4.2@{DIGEST}",
            ImageRef("registry.example", "shop/checkout", "1.4.2", DIGEST),
        ),
        ("localhost:5000/shop/api:v2", ImageRef("localhost:5000", "shop/api", "v2", None)),
        ("127.0.0.1:5000/app:latest-1", ImageRef("127.0.0.1:5000", "app", "latest-1", None)),
        ("localhost/app:1", ImageRef("localhost", "app", "1", None)),
        ("library/nginx:1.27", ImageRef(None, "library/nginx", "1.27", None)),
        ("nginx:1.27", ImageRef(None, "nginx", "1.27", None)),
        (
            "ghcr.io/org/my_app.x-y:1.0.0_rc1",
            ImageRef("ghcr.io", "org/my_app.x-y", "1.0.0_rc1", None),
        ),
        ("  ghcr.io/a/b:1  ", ImageRef("ghcr.io", "a/b", "1", None)),
    ],
)
def test_parse_image_ref(text: str, expected: ImageRef) -> None:
    ref = r.parse_image_ref(text)
    assert ref == expected
    assert r.parse_image_ref(str(ref)) == ref  # str() round-trips


def test_digest_is_lowercased() -> None:
    ref = r.parse_image_ref("reg.example/app@sha256:" + "AB" * 32)
    assert ref.digest == DIGEST


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "it is empty"),
        ("registry.example/shop/checkout", "needs a tag"),
        ("registry.example/shop/checkout@sha256:abc", "exactly 64 hex"),
        ("registry.example/shop/checkout@md5:" + "a" * 32, "must be sha256"),
        ("registry.example/shop/checkout@" + "a" * 64, "must be sha256"),
        ("registry.example/Shop/checkout:1", "repository component 'Shop'"),
        ("registry.example/shop//checkout:1", "repository component ''"),
        ("registry.example/shop/checkout:", "tag ''"),
        ("registry.example/shop/checkout:bad/tag", "repository component"),
        ("registry.example/shop/checkout:-x", "tag '-x'"),
        ("registry.example/shop/check out:1", "whitespace"),
        ("localhost:99999/shop/checkout:1", "outside 1..65535"),
        ("reg_istry.example:99/app:1", "registry"),
        ("registry.example/:1", "repository name is missing"),
        ("registry.example/app--x__y..z:1", "repository component"),
    ],
)
def test_parse_image_ref_rejects_garbage(text: str, message: str) -> None:
    with pytest.raises(ImageRefError) as info:
        r.parse_image_ref(text)
    assert message in str(info.value)
    assert "invalid image reference" in str(info.value)
    assert isinstance(info.value, ValueError)


def test_release_id_is_deterministic_and_order_independent() -> None:
    a = {"checkout": f"reg.example/shop/checkout@{DIGEST}", "payments": "reg.example/shop/pay:2"}
    b = dict(reversed(list(a.items())))
    assert list(a) != list(b)
    ida, idb = r.release_id_for(a), r.release_id_for(b)
    assert ida == idb
    assert ida.startswith("rel-") and len(ida) == 4 + 20
    assert all(c in "0123456789abcdef" for c in ida[4:])


def test_release_id_known_value() -> None:
    # Pinned so that a change in canonicalisation (which would change every id) is noticed.
    artifacts = r.parse_artifacts({"checkout": "reg.example/shop/checkout:1.4.2"})
    assert r.canonical_contents(artifacts) == (
        '{"artifacts":{"checkout":"reg.example/shop/checkout:1.4.2"}}'
    )
    import hashlib

    expected = hashlib.sha256(r.canonical_contents(artifacts).encode()).hexdigest()[:20]
    assert r.release_id(artifacts) == "rel-" + expected


def test_release_id_depends_on_contents() -> None:
    base = r.release_id_for({"checkout": "reg.example/c:1"})
    assert r.release_id_for({"checkout": "reg.example/c:2"}) != base
    assert r.release_id_for({"payments": "reg.example/c:1"}) != base
    assert r.release_id_for({"checkout": "reg.example/c:1", "x": "reg.example/x:1"}) != base
    # A reference is recorded as given: surrounding whitespace is refused (issue 12),
    # not silently made into another spelling of the same release.
    with pytest.raises(ImageRefError, match="whitespace"):
        r.release_id_for({"checkout": " reg.example/c:1 "})


def test_parse_artifacts_validates() -> None:
    with pytest.raises(ReleaseValidationError, match="at least one artifact"):
        r.parse_artifacts({})
    with pytest.raises(ReleaseValidationError, match="invalid app name 'Checkout'"):
        r.parse_artifacts({"Checkout": "reg.example/c:1"})
    with pytest.raises(ImageRefError, match=r"app 'checkout'.*needs a tag"):
        r.parse_artifacts({"checkout": "reg.example/c"})
    arts = r.parse_artifacts({"b": "reg.example/b:1", "a": f"reg.example/a@{DIGEST}"})
    assert [a.app for a in arts] == ["a", "b"]
    assert arts[0].digest == DIGEST and arts[0].tag is None and arts[0].resolved_digest is None
    assert arts[1].ref == "reg.example/b:1"


def test_labels_and_alias_validation() -> None:
    assert r.validate_labels({"z": "1", "branch": "main"}) == {"branch": "main", "z": "1"}
    with pytest.raises(ReleaseValidationError, match="label key"):
        r.validate_labels({"bad key": "x"})
    with pytest.raises(ReleaseValidationError, match="value for label"):
        r.validate_labels({"k": "x" * 300})
    assert r.validate_alias("checkout-1.4.2") == "checkout-1.4.2"
    with pytest.raises(ReleaseValidationError, match="may not start with 'rel-'"):
        r.validate_alias("rel-123")
    with pytest.raises(ReleaseValidationError, match="invalid alias"):
        r.validate_alias("has space")


def test_generated_alias_is_deterministic_and_readable() -> None:
    rel = r.release_id_for({"checkout": "reg.example/c:1"})
    alias = r.generate_alias(rel)
    assert alias == r.generate_alias(rel)
    adjective, noun, suffix = alias.split("-")
    assert adjective.isalpha() and noun.isalpha()
    assert suffix == rel[8:12]
    assert r.generate_alias(rel, 8).endswith(rel[8:16])
    r.validate_alias(alias)


def test_alias_word_lists_are_full_and_unique() -> None:
    assert len(set(r._ADJECTIVES)) == len(r._ADJECTIVES) == 64
    assert len(set(r._NOUNS)) == len(r._NOUNS) == 64


def test_generated_aliases_rarely_collide() -> None:
    aliases = {
        r.generate_alias(r.release_id_for({"app": f"reg.example/app:{i}"})) for i in range(2000)
    }
    assert len(aliases) == 2000


@pytest.mark.parametrize(
    ("ref", "prefix"),
    [
        ("rel-3f9c", "rel-3f9c"),
        ("3f9c2a", "rel-3f9c2a"),
        ("REL-ABCD", "rel-abcd"),
        ("3f9", None),
        ("swift-otter-3f9c", None),
        ("rel-" + "a" * 21, None),
    ],
)
def test_id_prefix_from_ref(ref: str, prefix: str | None) -> None:
    assert r.id_prefix_from_ref(ref) == prefix
