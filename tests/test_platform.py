"""Platform conformance: every case of ``conformance/platforms.json`` plus selection.

Host-dependent rows (``${DEFAULT_OS}``, ``${DEFAULT_ARCH}``, ``${DEFAULT_VARIANT}``, or
``host_dependent``) are run against several hosts: this machine (``default()``) and
fixed hosts passed explicitly, so the rules are checked on any machine. The
``observed_on_linux_amd64`` results are compared with ``host=linux/amd64``.

Error messages are our own (they name the specifier and say what is wrong, instead of
dumping a regular expression); each one is checked against the kind of error the Go
library reported for the same input.

The Windows groups run as well: OS-build compatibility and the preference for the
newest matching build are plain rules, useful when resolving Windows images from a
Linux machine.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from imgdigest import platform as pf
from imgdigest.errors import InvalidPlatformError
from imgdigest.platform import Platform
from tests.shared import DATA as TABLES

DATA = json.loads((TABLES / "platforms.json").read_text(encoding="utf-8"))
GROUPS: dict[str, list[dict[str, Any]]] = {g["id"]: g["cases"] for g in DATA["groups"]}

LINUX_AMD64 = Platform("linux", "amd64")
HOSTS = {
    "this-host": None,
    "linux-amd64": LINUX_AMD64,
    "linux-arm64": Platform("linux", "arm64"),
    "linux-arm-v7": Platform("linux", "arm", "v7"),
    "linux-arm-v6": Platform("linux", "arm", "v6"),
}

# Kind of error the Go library reported -> words our message uses for it.
ERROR_KINDS = {
    "wildcards not yet supported": "wildcards are not supported",
    "is an invalid OS component": "is not an operating system",
    "is an invalid component": "is not a valid architecture or variant",
    "cannot parse platform specifier": "expected os/architecture[/variant]",
    "unknown operating system or architecture": "unknown operating system or architecture",
}


def cases(group: str) -> Any:
    return pytest.mark.parametrize("case", GROUPS[group], ids=lambda c: c["id"])


def as_dict(p: Platform) -> dict[str, Any]:
    return {
        "os": p.os,
        "architecture": p.architecture,
        "variant": p.variant,
        "os.version": p.os_version,
        "os.features": list(p.os_features),
    }


def placeholders(host: Platform) -> dict[str, str]:
    variant = host.variant if host.architecture == "arm" and host.variant != "v7" else ""
    return {
        "${DEFAULT_OS}": host.os,
        "${DEFAULT_ARCH}": host.architecture,
        "${DEFAULT_VARIANT}": variant,
    }


def substitute(value: Any, host: Platform) -> Any:
    if isinstance(value, str):
        for name, replacement in placeholders(host).items():
            value = value.replace(name, replacement)
        return value
    if isinstance(value, dict):
        return {k: substitute(v, host) for k, v in value.items()}
    if isinstance(value, list):
        return [substitute(v, host) for v in value]
    return value


def assert_invalid(spec: str, go_error: str, host: Platform | None = None) -> None:
    with pytest.raises(InvalidPlatformError) as info:
        pf.parse(spec, host)
    message = str(info.value)
    assert message.startswith(f"invalid platform {json.dumps(spec)}: ")
    kinds = [ours for theirs, ours in ERROR_KINDS.items() if theirs in go_error]
    assert len(kinds) == 1, go_error
    assert kinds[0] in message


def assert_observed_parse(spec: str, observed: dict[str, Any], host: Platform) -> None:
    if not observed["ok"]:
        assert_invalid(spec, observed["error"], host)
        return
    p = pf.parse(spec, host)
    assert as_dict(p) == observed["platform"]
    assert pf.format(p) == observed["format"]
    assert pf.format_all(p) == observed["format_all"]


def test_every_group_is_covered():
    assert set(GROUPS) == {
        "parse-selector", "format-all-encoding", "parse-invalid", "only", "only-strict",
        "only-os", "only-os-order", "compare-os-features", "windows-abi-match",
        "windows-order", "windows-host-compat", "cpu-variant-from-arch", "observed-parse",
        "observed-only-preference", "observed-normalize",
    }  # fmt: skip


# Parsing and formatting.


@cases("parse-selector")
@pytest.mark.parametrize("host_name", HOSTS)
def test_parse_selector(case, host_name):
    given = HOSTS[host_name]
    host = given or pf.default()
    if case.get("upstream_skipped"):
        # Wildcards are not implemented upstream either (the rows are skipped there);
        # they must be refused clearly rather than half-supported.
        assert_invalid(case["input"], case["observed_on_linux_amd64"]["error"], given)
        return
    parsed = pf.parse(case["input"], given)
    assert as_dict(parsed) == substitute(case["expected"], host)

    fmt = pf.format_all if case["format_function"] == "FormatAll" else pf.format
    formatted = "/".join(s for s in substitute(case["formatted"], host).split("/") if s)
    assert fmt(parsed) == formatted
    assert fmt(pf.parse(formatted, given)) == formatted

    matcher = pf.new_matcher(parsed)
    assert matcher.match(parsed)
    for other in case.get("also_matches", []):
        assert matcher.match(Platform.from_oci(substitute(other, host)))

    if host == LINUX_AMD64:
        assert_observed_parse(case["input"], case["observed_on_linux_amd64"], host)


@cases("format-all-encoding")
def test_format_all_percent_encodes_os_options(case):
    p = Platform.from_oci(case["platform"])
    text = pf.format_all(p)
    assert text == case["expected"]["format_all"] == case["observed"]["format_all"]
    assert pf.format(p) == case["observed"]["format"]
    assert as_dict(pf.parse(text)) == case["observed"]["reparsed"]


@cases("parse-invalid")
def test_parse_rejects(case):
    assert not case["valid"]
    assert_invalid(case["input"], case["observed"]["error"])


@cases("observed-parse")
def test_parse_matrix(case):
    assert_observed_parse(case["input"], case["observed_on_linux_amd64"], LINUX_AMD64)
    if not case.get("host_dependent"):
        elsewhere = Platform("freebsd", "riscv64")
        try:
            here = pf.parse(case["input"])
        except InvalidPlatformError:
            with pytest.raises(InvalidPlatformError):
                pf.parse(case["input"], elsewhere)
        else:
            assert pf.parse(case["input"], elsewhere) == here


@cases("observed-normalize")
def test_normalize(case):
    normalized = pf.normalize(Platform.from_oci(case["platform"]), LINUX_AMD64)
    assert as_dict(normalized) == case["observed_on_linux_amd64"]


@cases("cpu-variant-from-arch")
def test_cpu_variant_from_machine_name(case):
    if case["valid"]:
        assert pf.cpu_variant_from_machine(case["input"]) == case["expected"]["variant"]
    else:
        with pytest.raises(InvalidPlatformError):
            pf.cpu_variant_from_machine(case["input"])


# Matching.

MATCHERS = {"Only": pf.only, "OnlyStrict": pf.only_strict, "OnlyOS": pf.only_os}


@pytest.mark.parametrize(
    ("case", "factory"),
    [(c, "Only") for c in GROUPS["only"]]
    + [(c, "OnlyStrict") for c in GROUPS["only-strict"]]
    + [(c, "OnlyOS") for c in GROUPS["only-os"]],
    ids=lambda v: v["id"] if isinstance(v, dict) else v,
)
def test_matchers(case, factory):
    matcher = MATCHERS[factory](pf.parse(case["platform"]))
    for spec in case["should_match"]:
        assert matcher.match(pf.parse(spec)), spec
    for spec in case["should_not_match"]:
        assert not matcher.match(pf.parse(spec)), spec


def formatted_order(matcher: pf.Matcher, specs: list[str]) -> list[str]:
    return [pf.format_all(p) for p in pf.sort_by_preference(matcher, map(pf.parse, specs))]


@cases("only-os-order")
def test_only_os_prefers_the_exact_architecture(case):
    matcher = pf.only_os(pf.parse(case["platform"]))
    assert formatted_order(matcher, case["input_list"]) == case["expected"]["sorted"]


@pytest.mark.parametrize(
    ("case", "name"),
    [(c, name) for c in GROUPS["compare-os-features"] for name in c["matchers"]],
    ids=lambda v: v["id"] if isinstance(v, dict) else v,
)
def test_os_feature_preference(case, name):
    p = pf.parse(case["platform"])
    factories = {"Only": pf.only, "OnlyStrict": pf.only_strict, "Ordered": pf.ordered}
    matcher = factories[name](p) if name in factories else pf.any_of(p)
    assert formatted_order(matcher, case["input_list"]) == case["expected"]["sorted"]


@cases("observed-only-preference")
def test_only_preference_order(case):
    host = pf.parse(case["platform"])
    matcher = pf.only(host)
    candidates = [pf.parse(c) for c in case["candidates"]]
    accepted = [c for c in candidates if matcher.match(c)]
    rejected = [pf.format_all(c) for c in candidates if not matcher.match(c)]
    assert rejected == case["observed"]["rejected"]
    ranked = pf.sort_by_preference(matcher, reversed(accepted))
    assert [pf.format_all(c) for c in ranked] == case["observed"]["accepted_in_preference_order"]
    best = pf.best_match(host, candidates)
    assert best is not None
    assert pf.format_all(candidates[best]) == case["observed"]["accepted_in_preference_order"][0]


# Windows.


@cases("windows-abi-match")
def test_windows_os_build_compatibility_when_matching(case):
    matcher = pf.new_matcher(Platform.from_oci(case["host"]))
    assert matcher.match(Platform.from_oci(case["candidate"])) is case["expected"]["match"]


@cases("windows-order")
def test_windows_prefers_the_newest_compatible_build(case):
    matcher = pf.new_matcher(Platform.from_oci(case["host"]))
    ranked = [
        as_dict(p)
        for p in pf.sort_by_preference(matcher, map(Platform.from_oci, case["input_list"]))
    ]
    if "sorted" in case["expected"]:
        assert ranked == case["expected"]["sorted"]
    else:
        assert ranked[0] == case["expected"]["first"]


@cases("windows-host-compat")
def test_windows_host_can_run(case):
    host, image = f"10.0.{case['host_build']}", f"10.0.{case['container_build']}"
    assert pf.windows_host_can_run(host, image) is case["expected"]["can_run"]


# Choosing from an image index.

INDEX = [Platform.from_oci(o) for o in (
    {"os": "linux", "architecture": "amd64"},
    {"os": "linux", "architecture": "arm", "variant": "v6"},
    {"os": "linux", "architecture": "arm", "variant": "v7"},
    {"os": "linux", "architecture": "arm64", "variant": "v8"},
    {"os": "linux", "architecture": "386"},
    {"os": "windows", "architecture": "amd64", "os.version": "10.0.17763.5329"},
    {"os": "windows", "architecture": "amd64", "os.version": "10.0.20348.2227"},
    {"os": "windows", "architecture": "amd64", "os.version": "10.0.20348.2322"},
)]  # fmt: skip


@pytest.mark.parametrize(
    ("wanted", "strict", "expected"),
    [
        ("linux/amd64", False, 0),
        ("x86_64", False, 0),
        ("linux/arm64", False, 3),
        ("linux/aarch64", False, 3),
        ("linux/arm64/v8", False, 3),
        ("linux/arm/v7", False, 2),
        ("linux/armhf", False, 2),
        ("linux/arm", False, 2),
        ("linux/arm/v6", False, 1),
        ("linux/arm/v5", False, None),
        ("linux/386", False, 4),
        ("linux/s390x", False, None),
        ("windows(10.0.20348)/amd64", False, 7),
        ("windows(10.0.26100)/amd64", False, 7),
        ("windows(10.0.17763)/amd64", False, 5),
        ("windows(10.0.19041)/amd64", False, None),
        ("linux/amd64", True, 0),
        ("linux/arm/v7", True, 2),
    ],
)
def test_best_match_on_an_index(wanted, strict, expected):
    assert pf.best_match(pf.parse(wanted), INDEX, strict=strict) == expected


def test_best_match_prefers_by_rank_not_position():
    arm_first = [Platform("linux", "arm", "v7"), Platform("linux", "arm64")]
    assert pf.best_match(Platform("linux", "arm64"), arm_first) == 1


def test_best_match_falls_back_only_where_the_host_can_run_it():
    old_arm = [Platform("linux", "arm", "v5"), Platform("linux", "arm", "v6")]
    assert pf.best_match(Platform("linux", "arm", "v7"), old_arm) == 1
    assert pf.best_match(Platform("linux", "arm", "v7"), old_arm, strict=True) is None
    assert pf.best_match(Platform("linux", "amd64"), [Platform("linux", "386")]) == 0
    assert pf.best_match(Platform("linux", "386"), [Platform("linux", "amd64")]) is None


def test_best_match_takes_the_first_of_equals_and_accepts_a_matcher():
    twins = [Platform("linux", "amd64"), Platform("linux", "x86_64")]
    assert pf.best_match(Platform("linux", "amd64"), twins) == 0
    assert pf.best_match(pf.ALL, twins) == 0
    assert pf.best_match(pf.only_os(Platform("linux", "s390x")), twins) == 0
    assert pf.best_match(Platform("linux", "amd64"), []) is None


# The Platform object.


def test_oci_round_trip_leaves_out_empty_fields():
    obj = {"architecture": "amd64", "os": "windows", "os.version": "10.0.20348.2227",
           "os.features": ["win32k"]}  # fmt: skip
    p = Platform.from_oci(obj)
    assert p == Platform("windows", "amd64", "", "10.0.20348.2227", ("win32k",))
    assert p.to_oci() == obj
    assert Platform("linux", "arm", "v7").to_oci() == {
        "architecture": "arm",
        "os": "linux",
        "variant": "v7",
    }


@pytest.mark.parametrize(
    "obj",
    [
        {"os": 1, "architecture": "amd64"},
        {"os": "linux", "architecture": "amd64", "os.features": "x"},
    ],
)
def test_from_oci_rejects_wrong_types(obj):
    with pytest.raises(InvalidPlatformError, match="invalid platform"):
        Platform.from_oci(obj)


def test_str_is_the_short_specifier():
    assert str(Platform("linux", "arm64", "v8")) == "linux/arm64/v8"
    assert str(Platform("windows", "amd64", os_version="10.0.20348")) == "windows/amd64"
    assert pf.format(Platform("", "amd64")) == "unknown"


def test_features_given_as_a_list_become_a_tuple():
    p = Platform("linux", "amd64", os_features=["b", "a"])  # type: ignore[arg-type]
    assert p.os_features == ("b", "a")
    assert pf.normalize(p).os_features == ("a", "b")
    assert hash(p) == hash(Platform("linux", "amd64", os_features=("b", "a")))


def test_default_is_linux_on_a_normalized_architecture():
    host = pf.default()
    assert host.os == "linux"
    assert host.architecture in pf.KNOWN_ARCH
    assert pf.normalize(host).architecture == host.architecture
    assert pf.parse(host.architecture).architecture == host.architecture


def test_bad_percent_encoding_is_reported():
    with pytest.raises(InvalidPlatformError, match="bad percent-encoding"):
        pf.parse("windows(10.0%zz)/amd64")
