"""``imgdigest policy``: the printed objects are what Gatekeeper and Kyverno expect."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from imgdigest.cli.main import main
from imgdigest.errors import UsageError
from imgdigest.policy import gatekeeper, kyverno


def printed(capsys: pytest.CaptureFixture[str], *argv: str) -> list[dict[str, Any]]:
    assert main(list(argv)) == 0
    return list(yaml.safe_load_all(capsys.readouterr().out))


def test_default_gatekeeper_output_is_the_seed_template_and_constraint(
    capsys: pytest.CaptureFixture[str],
) -> None:
    template, constraint = printed(capsys, "policy", "gatekeeper")
    assert template["apiVersion"] == "templates.gatekeeper.sh/v1"
    assert template["metadata"]["name"] == "k8simagedigests"
    assert template["spec"]["crd"]["spec"]["names"] == {"kind": "K8sImageDigests"}
    schema = template["spec"]["crd"]["spec"]["validation"]["openAPIV3Schema"]
    assert schema["properties"]["exemptImages"]["items"] == {"type": "string"}
    (target,) = template["spec"]["targets"]
    assert target["target"] == "admission.k8s.gatekeeper.sh"
    rego = target["rego"]
    assert rego.count("not regex.match(") == 3
    assert "re_match" not in rego
    assert len(target["libs"]) == 1 and "package lib.exempt_container" in target["libs"][0]
    assert constraint["apiVersion"] == "constraints.gatekeeper.sh/v1beta1"
    assert constraint["kind"] == "K8sImageDigests"
    assert constraint["metadata"] == {"name": "container-image-must-have-digest"}
    assert constraint["spec"] == {
        "match": {"kinds": [{"apiGroups": [""], "kinds": ["Pod"]}], "namespaces": ["default"]}
    }


def test_constraint_options(capsys: pytest.CaptureFixture[str]) -> None:
    _, constraint = printed(
        capsys,
        "policy",
        "gatekeeper",
        "--exempt",
        "registry.k8s.io/pause*",
        "--namespace",
        "prod,staging",
        "--kinds",
        "Pod,Deployment",
        "--kinds",
        "CronJob,argoproj.io/Rollout",
        "--enforcement-action",
        "warn",
        "--name",
        "digests",
    )
    assert constraint["metadata"]["name"] == "digests"
    assert constraint["spec"] == {
        "enforcementAction": "warn",
        "match": {
            "kinds": [
                {"apiGroups": [""], "kinds": ["Pod"]},
                {"apiGroups": ["apps"], "kinds": ["Deployment"]},
                {"apiGroups": ["batch"], "kinds": ["CronJob"]},
                {"apiGroups": ["argoproj.io"], "kinds": ["Rollout"]},
            ],
            "namespaces": ["prod", "staging"],
        },
        "parameters": {"exemptImages": ["registry.k8s.io/pause*"]},
    }


def test_all_namespaces_drops_the_namespace_match(capsys: pytest.CaptureFixture[str]) -> None:
    _, constraint = printed(capsys, "policy", "gatekeeper", "--all-namespaces")
    assert "namespaces" not in constraint["spec"]["match"]


def test_workload_kinds_add_pod_template_rules_and_pods_alone_do_not() -> None:
    assert "template_specs" not in gatekeeper.rego()
    assert "template_specs" in gatekeeper.rego(workloads=True)
    assert gatekeeper.needs_workload_rules(["Pod", "Deployment"])
    assert not gatekeeper.needs_workload_rules(["Pod"])


def test_an_unknown_kind_without_group_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="GROUP/Widget"):
        gatekeeper.match_kinds(["Widget"])


def test_strict_template_adds_the_reference_check() -> None:
    rego = gatekeeper.rego(strict=True)
    assert "valid_reference(image)" in rego
    assert "sha256:[a-f0-9]{64}" in rego and "sha512:[a-f0-9]{128}" in rego
    assert "<= 255" in rego


# --- Kyverno ----------------------------------------------------------------------------------


def test_kyverno_policy_validates_every_container_list(capsys: pytest.CaptureFixture[str]) -> None:
    (policy,) = printed(capsys, "policy", "kyverno", "--exempt", "registry.k8s.io/pause*")
    assert (policy["apiVersion"], policy["kind"]) == ("kyverno.io/v1", "ClusterPolicy")
    (rule,) = policy["spec"]["rules"]
    assert rule["match"] == {"any": [{"resources": {"kinds": ["Pod"]}}]}
    (foreach,) = rule["validate"]["foreach"]
    assert "ephemeralContainers, initContainers, containers" in foreach["list"]
    (condition,) = foreach["deny"]["conditions"]["any"]
    assert "@[a-z0-9]+([+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+" in condition["key"]
    assert (condition["operator"], condition["value"]) == ("Equals", False)
    assert foreach["preconditions"]["all"][0]["value"] == ["registry.k8s.io/pause*"]
    assert rule["validate"]["failureAction"] == "Enforce"


def test_kyverno_mutate_digest_adds_a_verify_images_rule(
    capsys: pytest.CaptureFixture[str],
) -> None:
    (policy,) = printed(
        capsys, "policy", "kyverno", "--mutate-digest", "--exempt", "a/*", "--namespace", "default"
    )
    pin, validate = policy["spec"]["rules"]
    (verify,) = pin["verifyImages"]
    assert verify == {
        "imageReferences": ["*"],
        "mutateDigest": True,
        "verifyDigest": False,
        "required": False,
        "skipImageReferences": ["a/*"],
    }
    assert validate["match"]["any"][0]["resources"]["namespaces"] == ["default"]


@pytest.mark.parametrize("pattern", ["a*b", "a?", "a**", "*a"])
def test_kyverno_refuses_exemptions_whose_wildcards_would_mean_more(pattern: str) -> None:
    with pytest.raises(UsageError, match="wildcard"):
        kyverno.cluster_policy(exempt=[pattern])


@pytest.mark.parametrize("pattern", ["a", "a/*", "*"])
def test_kyverno_accepts_exact_and_prefix_exemptions(pattern: str) -> None:
    assert kyverno.cluster_policy(exempt=[pattern])["spec"]["rules"]
