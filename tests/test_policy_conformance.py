"""The emitted Gatekeeper policy, run by a real Rego engine, agrees with ``check`` case by case.

For every case of the table an object is judged three ways, and all three must give the
same messages:

1. the Rego that ``imgdigest policy gatekeeper`` prints, evaluated by rego-cpp (regopy);
2. the messages the Gatekeeper library's own template (version 1.0.1) gives, kept as a fact
   table in ``tests/data/gatekeeper-verdicts.json`` (``tests/upstream`` re-derives it from
   the library's Rego when the upstream documents are present) - so the emitted policy has
   the seed's verdicts;
3. ``imgdigest check --compat gatekeeper`` on the object written to a file, with the
   case's parameters given as a ``K8sImageDigests`` constraint file.

The same is done for ``--strict`` (emitted Rego against ``check --strict``).
"""

from __future__ import annotations

import base64
import functools
import json
from pathlib import Path
from typing import Any

import pytest
import regopy
import yaml

from imgdigest.check import object_messages
from imgdigest.cli.main import main
from imgdigest.errors import ImgdigestError
from imgdigest.pinned import STRICT_REFERENCE, strict_problem
from imgdigest.reference import parse
from tests.shared import DATA

VERDICTS_FILE = DATA / "gatekeeper-verdicts.json"
MISSING = object()
D64 = "sha256:" + "0123456789abcdef" * 4
D128 = "sha512:" + "0123456789abcdef" * 8


def template_modules(template: dict[str, Any]) -> tuple[str, list[str]]:
    target = template["spec"]["targets"][0]
    return target["rego"], list(target.get("libs", []))


def emitted(*extra: str) -> tuple[str, list[str]]:
    """The template exactly as ``imgdigest policy gatekeeper`` prints it."""
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["policy", "gatekeeper", *extra]) == 0
    template, constraint = yaml.safe_load_all(out.getvalue())
    assert template["kind"] == "ConstraintTemplate"
    assert constraint["kind"] == "K8sImageDigests"
    return template_modules(template)


def evaluate(modules: tuple[str, list[str]], obj: Any, params: Any = MISSING) -> list[str]:
    """The messages of ``data.k8simagedigests.violation`` for this review."""
    rego, libs = modules
    engine = regopy.Interpreter()
    for index, lib in enumerate(libs):
        engine.add_module(f"lib{index}", lib)
    engine.add_module("template", rego)
    review: dict[str, Any] = {"review": {"object": obj}}
    if params is not MISSING:
        review["parameters"] = params
    engine.set_input(review)
    # Messages travel base64-encoded: regopy cannot print quotes inside set members.
    out = engine.query("v := [m | data.k8simagedigests.violation[x]; m := base64.encode(x.msg)]")
    encoded = json.loads(str(out))["bindings"]["v"]
    return sorted(base64.b64decode(m).decode() for m in encoded)


def run_check(tmp_path: Path, obj: Any, params: Any, *flags: str) -> tuple[int, list[str]]:
    """``imgdigest check --compat gatekeeper --format json`` on the object, as a file."""
    obj_file = tmp_path / "object.json"
    obj_file.write_text(json.dumps(obj))
    constraint: dict[str, Any] = {"apiVersion": "constraints.gatekeeper.sh/v1beta1"}
    constraint |= {"kind": "K8sImageDigests", "metadata": {"name": "c"}, "spec": {}}
    if params is not MISSING:
        constraint["spec"]["parameters"] = params
    constraint_file = tmp_path / "constraint.json"
    constraint_file.write_text(json.dumps(constraint))
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        argv = ["check", "--compat", "gatekeeper", "--format", "json"]
        code = main([*argv, "--constraint", str(constraint_file), *flags, str(obj_file)])
    report = json.loads(out.getvalue())
    assert report["errors"] == []
    return code, sorted(f["message"] for f in report["findings"])


def pod(*containers: Any, key: str = "containers", kind: str = "Pod") -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": kind,
        "metadata": {"name": "p"},
        "spec": {key: list(containers)},
    }


def c(image: Any = MISSING, name: Any = "app") -> dict[str, Any]:
    out: dict[str, Any] = {}
    if name is not MISSING:
        out["name"] = name
    if image is not MISSING:
        out["image"] = image
    return out


IMAGES = [
    "nginx",
    "nginx:1.25",
    "nginx:latest",
    f"nginx@{D64}",
    f"nginx:1.25@{D64}",
    f"docker.io/library/nginx:1.25@{D64}",
    f"localhost:5000/team/app@{D64}",
    f"[::1]:5000/app@{D64}",
    "nginx@sha256:abc",  # short: the template does not check length
    "nginx@sha256:ABCDEF",  # uppercase hex is in [a-zA-Z0-9=_-]
    "nginx@SHA256:abc",  # uppercase algorithm is not in [a-z0-9]
    f"nginx@{D128}",
    "nginx@sha384:abc",
    "nginx@sha256:",
    "nginx@sha256",
    "nginx@:abc",
    "nginx@",
    "@sha256:abc",
    "nginx@@sha256:abc",
    "nginx@sha256@abc",
    "nginx@sha256:abc@sha256:def",
    "nginx@x+y:z",
    "nginx@x..y:z",
    "nginx@x.y-z_w:=_-",
    "nginx@multihash+base58:QmRZxt2b1FVZPNqd8hsiykDL3TdBDeTSPX9Kv46HmX4Gx8",
    "registry.example:5000/app@sha256:abc",
    "nginx:sha256:abc",
    "nginx @sha256:abc",
    "nginx\n@sha256:abc",
    "NGINX@sha256:abc",
    "ngïnx",
    "café@sha256:abc",
    "",
    " ",
    "a@b:c",
    "sha256:" + "0" * 64,
    "nginx@sha256:abc/extra",
    "nginx@sha256:abc def",
]

EXEMPTIONS: list[tuple[str, Any, list[str]]] = [
    # (id, exemptImages, images in the pod)
    ("exact", ["nginx:1"], ["nginx:1", "nginx:2"]),
    ("exact-needs-the-whole-string", ["nginx"], ["nginx:1"]),
    ("prefix", ["registry.example/*"], ["registry.example/a:1", "registry.example2/a:1", "other"]),
    ("star-alone-exempts-everything", ["*"], ["nginx", "x:1", ""]),
    ("star-in-the-middle-is-literal", ["nginx*:1"], ["nginx*:1", "nginx-a:1"]),
    ("star-star-keeps-one-star", ["nginx**"], ["nginx*x", "nginx:1"]),
    ("question-mark-is-literal", ["ngin?"], ["ngin?", "nginx"]),
    ("several", ["a", "b*"], ["a", "b1", "c"]),
    ("empty-list", [], ["nginx"]),
    ("null", None, ["nginx"]),
    ("a-string-is-not-a-list", "nginx", ["nginx"]),
    ("a-map-is-iterated", {"first": "nginx"}, ["nginx", "other"]),
    ("numbers-ignored", [1, "nginx"], ["nginx", "x"]),
    ("exempt-with-digest", ["nginx*"], [f"nginx@{D64}", "nginx"]),
    ("case-sensitive", ["NGINX"], ["nginx"]),
    ("trailing-space", ["nginx "], ["nginx"]),
    ("empty-prefix-star", ["", "*"], ["x"]),
    ("empty-exact", [""], ["", "x"]),
]

STRUCTURES: list[tuple[str, Any]] = [
    ("no-spec", {"kind": "Pod", "metadata": {"name": "p"}}),
    ("null-spec", {"kind": "Pod", "spec": None}),
    ("spec-is-a-list", {"kind": "Pod", "spec": [{"containers": [c("nginx")]}]}),
    ("no-containers", {"kind": "Pod", "spec": {"volumes": []}}),
    ("null-containers", {"kind": "Pod", "spec": {"containers": None}}),
    ("empty-containers", pod()),
    ("containers-is-a-map", {"kind": "Pod", "spec": {"containers": {"a": c("nginx")}}}),
    ("containers-is-a-string", {"kind": "Pod", "spec": {"containers": "nginx"}}),
    ("container-is-a-string", pod("nginx")),
    ("container-is-null", pod(None)),
    ("container-without-name", pod(c("nginx", name=MISSING))),
    ("container-without-image", pod(c())),
    ("numeric-name", pod(c("nginx", name=7))),
    ("null-name", pod(c("nginx", name=None))),
    ("numeric-image", pod(c(1))),
    ("float-image", pod(c(1.5))),
    ("null-image", pod(c(None))),
    ("boolean-image", pod(c(True))),
    # A list or map image is left out: rego-cpp prints it with escaped quotes ([\"a\"]),
    # where OPA (and check) print ["a"] - an engine quirk, unreachable in a real cluster.
    ("duplicate-containers-give-one-message", pod(c("nginx"), c("nginx"))),
    ("same-name-two-images", pod(c("nginx"), c("redis"))),
    ("same-image-two-names", pod(c("nginx", name="a"), c("nginx", name="b"))),
    ("init-containers", pod(c("nginx"), key="initContainers")),
    ("ephemeral-containers", pod(c("nginx"), key="ephemeralContainers")),
    (
        "all-three-lists",
        {
            "kind": "Pod",
            "spec": {
                "initContainers": [c("a", name="i")],
                "containers": [c("b", name="c"), c(f"b@{D64}", name="d")],
                "ephemeralContainers": [c("e", name="e")],
            },
        },
    ),
    ("any-kind-with-spec-containers", pod(c("nginx"), kind="Widget")),
    (
        "a-deployment-template-is-not-read",
        {"kind": "Deployment", "spec": {"template": {"spec": {"containers": [c("nginx")]}}}},
    ),
    ("kind-missing", {"spec": {"containers": [c("nginx")]}}),
    ("unicode-name", pod(c("nginx", name="café"))),
]

PARAMS: list[tuple[str, Any]] = [
    ("parameters-missing", MISSING),
    ("parameters-empty", {}),
    ("parameters-null-list", {"exemptImages": None}),
]

CASES: list[tuple[str, Any, Any]] = []
CASES += [
    (f"image-{i:02d}-{image[:24]!r}", pod(c(image)), MISSING) for i, image in enumerate(IMAGES)
]
CASES += [
    (f"image-{i:02d}-init", pod(c(image), key="initContainers"), {"exemptImages": []})
    for i, image in enumerate(IMAGES[:12])
]
CASES += [
    (f"image-{i:02d}-ephemeral", pod(c(image), key="ephemeralContainers"), MISSING)
    for i, image in enumerate(IMAGES[12:24], start=12)
]
CASES += [
    (
        f"exempt-{name}",
        pod(*(c(image, name=f"c{k}") for k, image in enumerate(images))),
        {"exemptImages": value},
    )
    for name, value, images in EXEMPTIONS
]
CASES += [(f"structure-{name}", obj, MISSING) for name, obj in STRUCTURES]
CASES += [(f"params-{name}", pod(c("nginx")), value) for name, value in PARAMS]


def test_the_table_has_at_least_a_hundred_cases() -> None:
    assert len(CASES) >= 100
    assert len({case_id for case_id, _, _ in CASES}) == len(CASES)


@functools.cache
def verdicts() -> dict[str, list[str]]:
    """Case id -> the Gatekeeper library template's messages for that case."""
    return json.loads(VERDICTS_FILE.read_text())["verdicts"]


def test_the_verdict_table_covers_exactly_the_cases() -> None:
    assert sorted(verdicts()) == sorted(case_id for case_id, _, _ in CASES)
    assert sum(1 for v in verdicts().values() if v) >= 50


@pytest.fixture(scope="module")
def policies() -> dict[str, tuple[str, list[str]]]:
    return {"emitted": emitted(), "strict": emitted("--strict")}


@pytest.mark.parametrize(("case_id", "obj", "params"), CASES, ids=[c[0] for c in CASES])
def test_check_compat_gatekeeper_gives_exactly_the_rego_messages(
    tmp_path: Path, policies: dict[str, tuple[str, list[str]]], case_id: str, obj: Any, params: Any
) -> None:
    expected = verdicts()[case_id]
    assert evaluate(policies["emitted"], obj, params) == expected
    code, messages = run_check(tmp_path, obj, params)
    assert messages == expected
    assert code == (1 if expected else 0)
    exempt = () if params is MISSING or not isinstance(params, dict) else params.get("exemptImages")
    from imgdigest.check import exemption_list

    assert sorted(object_messages(obj, exempt=exemption_list(exempt))) == expected


STRICT_IMAGES = [
    *IMAGES,
    f"nginx@sha256:{'A' * 64}",
    f"nginx@sha256:{'0' * 63}",
    f"nginx@sha256:{'0' * 65}",
    f"nginx@sha384:{'0' * 96}",
    f"nginx@sha512:{'0' * 127}",
    f"Nginx@{D64}",
    f"nginx:{'t' * 128}@{D64}",
    f"nginx:{'t' * 129}@{D64}",
    f"example.com/{'a' * 255}@{D64}",
    f"example.com/{'a' * 256}@{D64}",
    f"{'a' * 256}@{D64}",
    f"a/b//c@{D64}",
    f"a__b/c---d@{D64}",
    f"a___b@{D64}",
    f"nginx:1@{D64}\n",
    f"x@{D64}@{D64}",
]


@pytest.mark.parametrize(
    "image", STRICT_IMAGES, ids=[f"{i:02d}" for i in range(len(STRICT_IMAGES))]
)
def test_strict_rego_and_check_strict_agree(
    tmp_path: Path, policies: dict[str, tuple[str, list[str]]], image: str
) -> None:
    obj = pod(c(image))
    expected = evaluate(policies["strict"], obj)
    code, messages = run_check(tmp_path, obj, MISSING, "--strict")
    assert messages == expected
    assert code == (1 if expected else 0)
    assert len(expected) <= 1


def reference_inputs() -> list[str]:
    data = json.loads((DATA / "reference.json").read_text())
    inputs = {
        case["input"] for group in data["groups"] for case in group["cases"] if "input" in case
    }
    return sorted(i for i in inputs if isinstance(i, str))


def test_strict_accepts_exactly_the_references_distribution_parses_with_a_digest() -> None:
    checked = 0
    for given in reference_inputs():
        for candidate in (given, f"{given}@{D64}"):
            try:
                ref = parse(candidate)
                valid = ref.digest is not None and bool(ref.path)
            except ImgdigestError:
                valid = False
            assert (strict_problem(candidate) is None) == valid, candidate
            assert (STRICT_REFERENCE.fullmatch(candidate) is not None) >= valid
            checked += 1
    assert checked > 500
