"""Pin format, commit messages and trailers: pure logic."""

from __future__ import annotations

import pytest

from shiplane.gitops import Pin, PinError, PinImage, dump_pin, load_pin, pin_path
from shiplane.gitops.messages import check_trailer, format_commit_message, parse_trailer_lines
from shiplane.gitops.pins import promotion_message, promotion_trailers

DIGEST = "sha256:" + "ab" * 32


def pin(**overrides: object) -> Pin:
    fields: dict[str, object] = {
        "app": "checkout",
        "release": "rel-3f9c2a0123456789abcd",
        "alias": "1.4",  # would be a float if written unquoted
        "images": (
            PinImage(
                repository="registry.example/shop/worker", ref="registry.example/shop/worker:1.4"
            ),
            PinImage(
                repository="registry.example/shop/checkout",
                ref="registry.example/shop/checkout:1.4",
                digest=DIGEST,
            ),
        ),
        "chart_version": "2.0.1",
    }
    fields.update(overrides)
    return Pin(**fields)  # type: ignore[arg-type]


def test_dump_is_deterministic_with_header_and_sorted_images() -> None:
    data = dump_pin(pin())
    assert data == dump_pin(pin())
    assert data.decode() == (
        "# written by Shiplane; do not edit\n"
        "apiVersion: shiplane/v1alpha1\n"
        "kind: Pin\n"
        "app: checkout\n"
        "release: rel-3f9c2a0123456789abcd\n"
        "alias: '1.4'\n"
        "images:\n"
        "- repository: registry.example/shop/checkout\n"
        "  ref: registry.example/shop/checkout:1.4\n"
        f"  digest: {DIGEST}\n"
        "- repository: registry.example/shop/worker\n"
        "  ref: registry.example/shop/worker:1.4\n"
        "chartVersion: 2.0.1\n"
    )


def test_round_trip() -> None:
    assert load_pin(dump_pin(pin())) == pin()
    minimal = Pin(app="web", release="rel-1")
    assert load_pin(dump_pin(minimal)) == minimal


def test_image_with_digest_is_deployed_by_digest() -> None:
    checkout = pin().images[0]
    assert checkout.image == f"registry.example/shop/checkout:1.4@{DIGEST}"
    by_digest = PinImage(repository="r.example/a", ref=f"r.example/a@{DIGEST}", digest=DIGEST)
    assert by_digest.image == f"r.example/a@{DIGEST}"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (b"app: [", "invalid YAML"),
        (b"- a\n", "expected a mapping"),
        (b"\xff\xfe", "not UTF-8"),
        (b"release: rel-1\n", "app: Field required"),
        (b"app: a\nrelease: r\nextra: 1\n", "extra: Extra inputs are not permitted"),
        (b"app: a\nrelease: r\nkind: Other\n", "kind: Input should be 'Pin'"),
        (
            b"app: a\nrelease: r\nimages: [{repository: r.example/a, ref: r.example/b:1}]\n",
            "images.0: Value error, ref 'r.example/b:1' is not an image of repository",
        ),
        (
            b"app: a\nrelease: r\nimages: [{repository: r.example/a, ref: r.example/a}]\n",
            "images.0: Value error, invalid image reference",
        ),
        (
            b"app: a\nrelease: r\n"
            b"images: [{repository: r.example/a, ref: r.example/a:1, digest: md5:1}]\n",
            "is not sha256:<64 hex>",
        ),
    ],
)
def test_load_errors_name_the_field(text: bytes, message: str) -> None:
    with pytest.raises(PinError) as info:
        load_pin(text, source="envs/qa/a/shiplane.pin.yaml")
    assert str(info.value).startswith("envs/qa/a/shiplane.pin.yaml: ")
    assert message in str(info.value)


def test_duplicate_repositories_are_refused() -> None:
    image = PinImage(repository="r.example/a", ref="r.example/a:1")
    with pytest.raises(ValueError, match=r"listed more than once: r\.example/a"):
        Pin(app="a", release="r", images=(image, image))


def test_pin_path() -> None:
    assert pin_path("staging", "checkout") == "envs/staging/checkout/shiplane.pin.yaml"
    for env, app in [("", "a"), ("a/b", "c"), ("..", "a"), ("qa", ".hidden")]:
        with pytest.raises(ValueError):
            pin_path(env, app)


def test_promotion_message_and_trailers() -> None:
    rel = "rel-3f9c2a0123456789abcd"
    assert promotion_message("checkout", "1.4.2", rel, "staging") == (
        "promote checkout 1.4.2 (rel-3f9c2a) to staging"
    )
    assert promotion_message(["checkout", "payments"], None, rel, "prod-eu") == (
        "promote checkout, payments (rel-3f9c2a) to prod-eu"
    )
    trailers = promotion_trailers("prm-01J", rel, "alice")
    assert list(trailers.items()) == [
        ("Shiplane-Promotion", "prm-01J"),
        ("Shiplane-Release", rel),
        ("Shiplane-Actor", "alice"),
    ]
    with pytest.raises(ValueError):
        promotion_trailers("prm-1\nShiplane-Actor: mallory", rel, "alice")


def test_commit_message_format() -> None:
    text = format_commit_message("  subject\n", {"A-B": "1", "C": "two words"})
    assert text == "subject\n\nA-B: 1\nC: two words\n"
    assert format_commit_message("subject", {}) == "subject\n"
    assert parse_trailer_lines("A-B: 1\nC: two words\nnot a trailer\n") == (
        ("A-B", "1"),
        ("C", "two words"),
    )
    for bad in [("", "x"), ("has space", "x"), ("Ok", ""), ("Ok", " padded"), ("Ok", "a\nb")]:
        with pytest.raises(ValueError):
            check_trailer(*bad)
    with pytest.raises(ValueError):
        format_commit_message("   ", {})


def test_a_pinned_chart_and_commit_are_written_in_a_fixed_order_and_read_back() -> None:
    from shiplane.gitops.pins import PinChart, PinConfig

    commit = "0123456789abcdef0123456789abcdef01234567"
    pinned = pin(
        chart_version=None,
        chart=PinChart(name="checkout", version="1.1.0", digest=DIGEST),
        config=PinConfig(commit=commit),
    )
    data = dump_pin(pinned)
    assert data == dump_pin(pinned)
    assert data.decode().endswith(
        f"chart:\n  name: checkout\n  version: 1.1.0\n  digest: {DIGEST}\n"
        f"config:\n  commit: {commit}\n"
    )
    assert load_pin(data) == pinned


def test_pins_written_before_charts_and_commits_still_load() -> None:
    old = (
        b"apiVersion: shiplane/v1alpha1\nkind: Pin\napp: checkout\nrelease: rel-1\n"
        b"images: []\nchartVersion: 2.0.1\n"
    )
    loaded = load_pin(old)
    assert loaded.chart_version == "2.0.1" and loaded.chart is None and loaded.config is None


def test_a_pinned_commit_must_be_full_lowercase_hex() -> None:
    bad = b"app: checkout\nrelease: rel-1\nconfig: {commit: abc123}\n"
    with pytest.raises(PinError, match=r"config\.commit"):
        load_pin(bad)
