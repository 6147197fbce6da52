"""deploy/helm/imgdigest-webhook: the webhook as a Helm chart, with the kustomize base's choices.

Rendered with the real ``helm template`` (Helm 4 and Helm 3 from ``make tools``) and checked
as ``test_deploy.py`` checks the kustomize base: built-in kinds strictly against the
Kubernetes schemas, cert-manager's kinds by what ties them to the rest. With its defaults
the chart must deploy the same webhook the base does; each value must change what it says.
"""

from __future__ import annotations

import subprocess

import kubernetes_validate
import pytest
import yaml

from tests.shared import tool

from .process import ROOT
from .test_deploy import K8S_VERSION, by_kind, render

CHART = ROOT / "deploy" / "helm" / "imgdigest-webhook"
NAMESPACE = "imgdigest-system"
DIGEST = "sha256:" + "5" * 64

#: name -> --set values, each a choice the kustomize base and its overlays offer
COMBOS: dict[str, list[str]] = {
    "defaults": [],
    "cert-manager": ["tls.certManager.enabled=true"],
    "opt-in, provided secret": [
        "optInNamespaces=true",
        "tls.secretName=my-tls",
        "tls.caBundle=Q0EgYnVuZGxl",
        f"image.digest={DIGEST}",
    ],
    "one replica, no PDB, Ignore": [
        "replicaCount=1",
        "podDisruptionBudget.enabled=false",
        "failurePolicy=Ignore",
        "resources.limits.memory=512Mi",
        "timeoutSeconds=5",
    ],
    "validate only": ["mutating.enabled=false"],
    "signature keys": ["signatureKeys.secretName=cosign-keys"],
}


def helm(*args: str, binary: str = "helm") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [tool(binary), *args], capture_output=True, text=True, timeout=120, check=False
    )


def template(sets: list[str], binary: str = "helm") -> list[dict]:
    args = ["template", "imgdigest-webhook", str(CHART), "--namespace", NAMESPACE]
    for value in sets:
        args += ["--set", value]
    done = helm(*args, binary=binary)
    assert done.returncode == 0, done.stderr
    return [d for d in yaml.safe_load_all(done.stdout) if d]


@pytest.fixture(scope="module", params=list(COMBOS))
def rendered(request) -> tuple[str, list[dict]]:
    return request.param, template(COMBOS[request.param])


@pytest.mark.parametrize("binary", ["helm", "helm3"])
def test_chart_passes_helm_lint_strict(binary):
    for sets in COMBOS.values():
        args = ["lint", "--strict", str(CHART)]
        for value in sets:
            args += ["--set", value]
        done = helm(*args, binary=binary)
        assert done.returncode == 0, done.stdout + done.stderr
        assert "1 chart(s) linted, 0 chart(s) failed" in done.stdout


def test_every_builtin_object_passes_strict_schema_validation(rendered):
    _, docs = rendered
    builtin = [d for d in docs if not d["apiVersion"].startswith("cert-manager.io/")]
    kinds = {d["kind"] for d in builtin}
    assert kinds >= {"ServiceAccount", "ConfigMap", "Service", "Deployment",
                     "ValidatingWebhookConfiguration"}  # fmt: skip
    for doc in builtin:
        kubernetes_validate.validate(doc, K8S_VERSION, strict=True)


def test_defaults_deploy_the_same_webhook_as_the_kustomize_base():
    chart, base = template([]), render("base")
    for kind in ("ValidatingWebhookConfiguration", "MutatingWebhookConfiguration"):
        assert by_kind(chart, kind)[0]["webhooks"] == by_kind(base, kind)[0]["webhooks"]
    (ours,), (theirs,) = by_kind(chart, "Deployment"), by_kind(base, "Deployment")
    pod, base_pod = ours["spec"]["template"]["spec"], theirs["spec"]["template"]["spec"]
    (container,), (base_container,) = pod["containers"], base_pod["containers"]
    assert container.pop("image") == "registry.example.com/imgdigest/webhook:0.1.0"
    base_container.pop("image")
    assert container == base_container
    assert pod["securityContext"] == base_pod["securityContext"]
    assert [v["name"] for v in pod["volumes"]] == [v["name"] for v in base_pod["volumes"]]
    assert ours["spec"]["replicas"] == theirs["spec"]["replicas"] == 2
    assert ours["spec"]["strategy"] == theirs["spec"]["strategy"]
    assert by_kind(chart, "PodDisruptionBudget")[0]["spec"]["minAvailable"] == 1
    assert settings(chart) == settings(base)


def settings(docs: list[dict]) -> dict:
    return yaml.safe_load(by_kind(docs, "ConfigMap")[0]["data"]["webhook.yaml"])


def test_values_change_what_they_say():
    docs = template(COMBOS["opt-in, provided secret"])
    pod = by_kind(docs, "Deployment")[0]["spec"]["template"]["spec"]
    assert pod["containers"][0]["image"] == f"registry.example.com/imgdigest/webhook:0.1.0@{DIGEST}"
    assert {v["name"]: v for v in pod["volumes"]}["tls"]["secret"]["secretName"] == "my-tls"
    for kind in ("ValidatingWebhookConfiguration", "MutatingWebhookConfiguration"):
        (hook,) = by_kind(docs, kind)[0]["webhooks"]
        assert hook["namespaceSelector"] == {"matchLabels": {"imgdigest.dev/enforce": "true"}}
        assert hook["clientConfig"]["caBundle"] == "Q0EgYnVuZGxl"
    assert by_kind(docs, "Certificate") == []

    docs = template(COMBOS["one replica, no PDB, Ignore"])
    deployment = by_kind(docs, "Deployment")[0]
    assert deployment["spec"]["replicas"] == 1
    assert by_kind(docs, "PodDisruptionBudget") == []
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert container["resources"]["limits"] == {"cpu": "1", "memory": "512Mi"}
    for kind in ("ValidatingWebhookConfiguration", "MutatingWebhookConfiguration"):
        (hook,) = by_kind(docs, kind)[0]["webhooks"]
        assert (hook["failurePolicy"], hook["timeoutSeconds"]) == ("Ignore", 5)

    docs = template(COMBOS["validate only"])
    assert by_kind(docs, "MutatingWebhookConfiguration") == []
    assert len(by_kind(docs, "ValidatingWebhookConfiguration")) == 1


def test_mounted_settings_parse_and_follow_the_timeout(tmp_path):
    from imgdigest.webhook.config import load

    docs = template(["timeoutSeconds=7", "config.enforce=warn"], binary="helm3")
    settings = tmp_path / "webhook.yaml"
    settings.write_text(by_kind(docs, "ConfigMap")[0]["data"]["webhook.yaml"])
    config = load(settings)
    assert config.timeout_seconds == 7
    assert config.enforce == "warn"
    assert set(config.exempt_namespaces) == {"kube-system", NAMESPACE}


def test_release_namespace_is_never_enforced():
    args = ["template", "w", str(CHART), "--namespace", "platform-hooks"]
    done = helm(*args)
    assert done.returncode == 0, done.stderr
    docs = [d for d in yaml.safe_load_all(done.stdout) if d]
    (hook,) = by_kind(docs, "ValidatingWebhookConfiguration")[0]["webhooks"]
    (names,) = [
        e for e in hook["namespaceSelector"]["matchExpressions"]
        if e["key"] == "kubernetes.io/metadata.name"
    ]  # fmt: skip
    assert names["values"] == ["kube-system", "platform-hooks"]
    service = hook["clientConfig"]["service"]
    assert (service["name"], service["namespace"]) == ("w-imgdigest-webhook", "platform-hooks")


def test_cert_manager_issues_the_secret_the_deployment_mounts():
    docs = template(COMBOS["cert-manager"])
    certs = {c["metadata"]["name"]: c for c in by_kind(docs, "Certificate")}
    issuers = {i["metadata"]["name"] for i in by_kind(docs, "Issuer")}
    assert len(certs) == 2 and len(issuers) == 2
    assert all(c["spec"]["issuerRef"]["name"] in issuers for c in certs.values())
    serving = certs["imgdigest-webhook"]
    pod = by_kind(docs, "Deployment")[0]["spec"]["template"]["spec"]
    tls = {v["name"]: v for v in pod["volumes"]}["tls"]["secret"]["secretName"]
    assert serving["spec"]["secretName"] == tls == "imgdigest-webhook-tls"
    assert "imgdigest-webhook.imgdigest-system.svc" in serving["spec"]["dnsNames"]
    for kind in ("ValidatingWebhookConfiguration", "MutatingWebhookConfiguration"):
        config = by_kind(docs, kind)[0]
        assert config["metadata"]["annotations"] == {
            "cert-manager.io/inject-ca-from": "imgdigest-system/imgdigest-webhook"
        }
        assert "caBundle" not in config["webhooks"][0]["clientConfig"]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("replicaCount=two", "at '/replicaCount': got string, want integer"),
        ("failurePolicy=Sometimes", "at '/failurePolicy': value must be one of 'Fail', 'Ignore'"),
        ("image.digest=sha256:abc", "at '/image/digest'"),
        ("replica=3", "additional properties 'replica' not allowed"),
    ],
)
def test_values_schema_refuses_wrong_values_with_helms_message(value, message):
    done = helm("template", "x", str(CHART), "--set", value)
    assert done.returncode == 1
    assert done.stdout == ""
    assert "values don't meet the specifications of the schema" in done.stderr
    assert message in done.stderr


def test_signature_keys_are_mounted_where_require_signature_reads_them(tmp_path):

    values = tmp_path / "values.yaml"
    values.write_text(
        "signatureKeys: {secretName: cosign-keys}\n"
        "config:\n"
        "  require_signature: {'registry.example.com/team/*': /etc/imgdigest/keys/cosign.pub}\n"
    )
    done = helm("template", "w", str(CHART), "--namespace", NAMESPACE, "-f", str(values))
    assert done.returncode == 0, done.stderr
    docs = [d for d in yaml.safe_load_all(done.stdout) if d]
    pod = by_kind(docs, "Deployment")[0]["spec"]["template"]["spec"]
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert volumes["signature-keys"]["secret"] == {"secretName": "cosign-keys"}
    mounts = {m["name"]: m for m in pod["containers"][0]["volumeMounts"]}
    assert mounts["signature-keys"] == {
        "name": "signature-keys",
        "mountPath": "/etc/imgdigest/keys",
        "readOnly": True,
    }
    assert settings(docs)["require_signature"] == {
        "registry.example.com/team/*": "/etc/imgdigest/keys/cosign.pub"
    }
    # without the value, nothing is mounted
    pod = by_kind(template([]), "Deployment")[0]["spec"]["template"]["spec"]
    assert "signature-keys" not in {v["name"] for v in pod["volumes"]}
