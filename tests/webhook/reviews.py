"""AdmissionReview documents shaped as the API server sends them, and reading the answers.

Field for field what kube-apiserver puts in an ``admission.k8s.io/v1`` request: the
GVK and GVR of the object (and the ``request*`` variants under ``matchPolicy:
Equivalent``), user info, ``options``, ``dryRun``, ``object`` and ``oldObject``.
"""

from __future__ import annotations

import base64
import copy
import json
import uuid
from typing import Any

import jsonpatch

# kind -> (group, version, resource)
RESOURCES: dict[str, tuple[str, str, str]] = {
    "Pod": ("", "v1", "pods"),
    "PodTemplate": ("", "v1", "podtemplates"),
    "ReplicationController": ("", "v1", "replicationcontrollers"),
    "Deployment": ("apps", "v1", "deployments"),
    "StatefulSet": ("apps", "v1", "statefulsets"),
    "DaemonSet": ("apps", "v1", "daemonsets"),
    "ReplicaSet": ("apps", "v1", "replicasets"),
    "Job": ("batch", "v1", "jobs"),
    "CronJob": ("batch", "v1", "cronjobs"),
    "ConfigMap": ("", "v1", "configmaps"),
}

_OPTIONS = {
    "CREATE": {"kind": "CreateOptions", "apiVersion": "meta.k8s.io/v1", "fieldManager": "kubectl"},
    "UPDATE": {"kind": "UpdateOptions", "apiVersion": "meta.k8s.io/v1", "fieldManager": "argocd"},
    "DELETE": {"kind": "DeleteOptions", "apiVersion": "meta.k8s.io/v1"},
}


def pod_spec(*images: str, init: tuple[str, ...] = ()) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "containers": [{"name": f"c{i}", "image": image} for i, image in enumerate(images)],
        "restartPolicy": "Always",
    }
    if init:
        spec["initContainers"] = [{"name": f"i{i}", "image": im} for i, im in enumerate(init)]
    return spec


def workload(kind: str, *images: str, name: str = "app", **kw: Any) -> dict[str, Any]:
    """An object of ``kind`` whose pod spec runs ``images``."""
    group, version, _ = RESOURCES[kind]
    meta = {"name": name, "namespace": "default", "labels": {"app": name}}
    spec = pod_spec(*images, init=kw.pop("init", ()))
    template = {"metadata": {"labels": {"app": name}}, "spec": spec}
    api = f"{group}/{version}" if group else version
    obj: dict[str, Any] = {"apiVersion": api, "kind": kind, "metadata": meta}
    if kind == "Pod":
        obj["spec"] = spec
    elif kind == "PodTemplate":
        obj["template"] = template
    elif kind == "CronJob":
        obj["spec"] = {"schedule": "*/5 * * * *", "jobTemplate": {"spec": {"template": template}}}
    elif kind == "Job":
        obj["spec"] = {"template": template}
    else:
        obj["spec"] = {
            "replicas": 2,
            "selector": {"matchLabels": {"app": name}},
            "template": template,
        }
    obj["metadata"].update(kw.pop("metadata", {}))
    return obj


def admission_review(
    obj: dict[str, Any] | None,
    operation: str = "CREATE",
    *,
    old: dict[str, Any] | None = None,
    namespace: str = "default",
    dry_run: bool = False,
    sub_resource: str | None = None,
    kind: str | None = None,
) -> dict[str, Any]:
    """The review the API server posts for ``operation`` on ``obj``."""
    kind = kind or (obj or old or {}).get("kind", "Pod")
    group, version, resource = RESOURCES.get(kind, ("", "v1", kind.lower() + "s"))
    gvk = {"group": group, "version": version, "kind": kind}
    gvr = {"group": group, "version": version, "resource": resource}
    meta = (obj or old or {}).get("metadata")
    name = meta.get("name", "") if isinstance(meta, dict) else ""
    request: dict[str, Any] = {
        "uid": str(uuid.uuid4()),
        "kind": gvk,
        "resource": gvr,
        "requestKind": gvk,
        "requestResource": gvr,
        "name": name,
        "namespace": namespace,
        "operation": operation,
        "userInfo": {
            "username": "kubernetes-admin",
            "groups": ["system:masters", "system:authenticated"],
        },
        "object": copy.deepcopy(obj) if operation != "DELETE" else None,
        "oldObject": copy.deepcopy(old),
        "dryRun": dry_run,
        "options": _OPTIONS.get(operation),
    }
    if sub_resource:
        request["subResource"] = sub_resource
        request["requestSubResource"] = sub_resource
    return {"kind": "AdmissionReview", "apiVersion": "admission.k8s.io/v1", "request": request}


def answer(review: dict[str, Any], http: Any) -> dict[str, Any]:
    """The ``response`` of a 200 answer, checked for the envelope Kubernetes requires."""
    assert http.status_code == 200, (http.status_code, http.text)
    body = http.json()
    assert body["apiVersion"] == "admission.k8s.io/v1" and body["kind"] == "AdmissionReview"
    resp = body["response"]
    assert resp["uid"] == review["request"]["uid"]
    assert isinstance(resp["allowed"], bool)
    return resp


def patch_of(resp: dict[str, Any]) -> list[dict[str, Any]]:
    if "patch" not in resp:
        return []
    assert resp["patchType"] == "JSONPatch"
    return json.loads(base64.b64decode(resp["patch"]))


def patched(obj: dict[str, Any], resp: dict[str, Any]) -> dict[str, Any]:
    """``obj`` after the answer's JSONPatch, applied by a JSONPatch library."""
    return jsonpatch.apply_patch(obj, patch_of(resp))
