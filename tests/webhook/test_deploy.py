"""deploy/: rendered with ``kubectl kustomize`` and validated against the Kubernetes schemas.

kubectl comes from the project's tool folder (``make tools``: kubectl 1.34, kustomize 5.7);
a missing kubectl fails, it does not skip. Built-in kinds are validated strictly (unknown
fields are errors) with ``kubernetes-validate``; cert-manager's kinds have no schema there,
so the test checks what ties them to the base instead: Secret names, issuers and the CA
injection.
"""

from __future__ import annotations

import copy
import subprocess

import kubernetes_validate
import pytest
import yaml

from tests.shared import tool

from .process import ROOT

DEPLOY = ROOT / "deploy"
K8S_VERSION = "1.30"
OVERLAYS = ["base", "overlays/cert-manager", "overlays/opt-in"]


def render(path: str) -> list[dict]:
    kubectl = tool("kubectl")
    done = subprocess.run(
        [kubectl, "kustomize", str(DEPLOY / path)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return [d for d in yaml.safe_load_all(done.stdout) if d]


@pytest.fixture(scope="module", params=OVERLAYS)
def rendered(request) -> tuple[str, list[dict]]:
    return request.param, render(request.param)


def by_kind(docs: list[dict], kind: str) -> list[dict]:
    return [d for d in docs if d["kind"] == kind]


def test_every_builtin_object_passes_strict_schema_validation(rendered):
    _, docs = rendered
    builtin = [d for d in docs if not d["apiVersion"].startswith("cert-manager.io/")]
    assert {d["kind"] for d in builtin} >= {
        "Namespace", "ServiceAccount", "ConfigMap", "Service", "Deployment",
        "PodDisruptionBudget", "ValidatingWebhookConfiguration", "MutatingWebhookConfiguration",
    }  # fmt: skip
    for doc in builtin:
        kubernetes_validate.validate(doc, K8S_VERSION, strict=True)


def test_schema_validation_is_not_vacuous():
    deployment = by_kind(render("base"), "Deployment")[0]
    broken = copy.deepcopy(deployment)
    broken["spec"]["template"]["spec"]["containers"][0]["imagePullPolice"] = "Always"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, K8S_VERSION, strict=True)


def test_webhook_configurations_are_safe_for_the_api_server(rendered):
    _, docs = rendered
    configs = by_kind(docs, "ValidatingWebhookConfiguration") + by_kind(
        docs, "MutatingWebhookConfiguration"
    )
    assert len(configs) == 2
    for config in configs:
        (hook,) = config["webhooks"]
        assert hook["sideEffects"] == "None"
        assert hook["admissionReviewVersions"] == ["v1"]
        assert hook["matchPolicy"] == "Equivalent"
        assert hook["timeoutSeconds"] == 10
        assert hook["failurePolicy"] == "Fail"
        service = hook["clientConfig"]["service"]
        assert (service["name"], service["namespace"]) == ("imgdigest-webhook", "imgdigest-system")
        kinds = {r for rule in hook["rules"] for r in rule["resources"]}
        assert kinds >= {"pods", "deployments", "statefulsets", "daemonsets", "replicasets",
                         "jobs", "cronjobs"}  # fmt: skip
    mutating = by_kind(docs, "MutatingWebhookConfiguration")[0]["webhooks"][0]
    assert mutating["reinvocationPolicy"] == "IfNeeded"


@pytest.mark.parametrize("path", ["base", "overlays/cert-manager"])
def test_base_skips_kube_system_and_its_own_namespace(path):
    docs = render(path)
    for kind in ("ValidatingWebhookConfiguration", "MutatingWebhookConfiguration"):
        selector = by_kind(docs, kind)[0]["webhooks"][0]["namespaceSelector"]
        (names,) = [
            e for e in selector["matchExpressions"] if e["key"] == "kubernetes.io/metadata.name"
        ]
        assert names["operator"] == "NotIn"
        assert set(names["values"]) == {"kube-system", "imgdigest-system"}


def test_opt_in_overlay_selects_labelled_namespaces():
    docs = render("overlays/opt-in")
    for kind in ("ValidatingWebhookConfiguration", "MutatingWebhookConfiguration"):
        selector = by_kind(docs, kind)[0]["webhooks"][0]["namespaceSelector"]
        assert selector == {"matchLabels": {"imgdigest.dev/enforce": "true"}}


def test_deployment_is_hardened_and_highly_available(rendered, tmp_path):
    _, docs = rendered
    (deployment,) = by_kind(docs, "Deployment")
    spec = deployment["spec"]
    pod = spec["template"]["spec"]
    (container,) = pod["containers"]
    assert spec["replicas"] == 2
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert container["securityContext"]["capabilities"]["drop"] == ["ALL"]
    assert set(container["resources"]) == {"requests", "limits"}
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert {c["topologyKey"] for c in pod["topologySpreadConstraints"]} >= {
        "kubernetes.io/hostname"
    }
    (pdb,) = by_kind(docs, "PodDisruptionBudget")
    assert pdb["spec"]["minAvailable"] == 1
    # The image comes from the kustomize images: entry users set.
    assert container["image"] == "registry.example.com/imgdigest/webhook:0.1.0"
    # The mounted settings parse as the webhook's own config.
    from imgdigest.webhook.config import load

    (configmap,) = by_kind(docs, "ConfigMap")
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert volumes["config"]["configMap"]["name"] == configmap["metadata"]["name"]
    settings = tmp_path / "webhook.yaml"
    settings.write_text(configmap["data"]["webhook.yaml"])
    assert load(settings).timeout_seconds == 10


def test_cert_manager_overlay_issues_the_secret_the_deployment_mounts():
    docs = render("overlays/cert-manager")
    certs = {c["metadata"]["name"]: c for c in by_kind(docs, "Certificate")}
    issuers = {i["metadata"]["name"] for i in by_kind(docs, "Issuer")}
    assert all(c["spec"]["issuerRef"]["name"] in issuers for c in certs.values())
    serving = certs["imgdigest-webhook"]
    pod = by_kind(docs, "Deployment")[0]["spec"]["template"]["spec"]
    tls = {v["name"]: v for v in pod["volumes"]}["tls"]["secret"]["secretName"]
    assert serving["spec"]["secretName"] == tls
    assert "imgdigest-webhook.imgdigest-system.svc" in serving["spec"]["dnsNames"]
    for kind in ("ValidatingWebhookConfiguration", "MutatingWebhookConfiguration"):
        annotations = by_kind(docs, kind)[0]["metadata"]["annotations"]
        assert annotations["cert-manager.io/inject-ca-from"] == "imgdigest-system/imgdigest-webhook"
