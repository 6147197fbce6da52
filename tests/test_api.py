"""The public API: every name of ``imgdigest.__all__`` stays what it says, whatever is imported.

Importing a submodule sets an attribute of the package with the submodule's name; a
public function of that name would then be hidden by the module (``imgdigest.resolve``
once was). So every submodule is imported first, then every public name is looked up
and every public function called.
"""

from __future__ import annotations

import importlib
import inspect
import json
import pkgutil
import subprocess
import sys
import types
from pathlib import Path

import pytest

import imgdigest
from imgdigest import errors

SUBMODULES = sorted(
    m.name
    for m in pkgutil.walk_packages(imgdigest.__path__, "imgdigest.")
    if not m.name.endswith("__main__")
)

POD = {"kind": "Pod", "spec": {"containers": [{"name": "web", "image": "nginx:1.25"}]}}
PINNED = "nginx@sha256:" + "a" * 64  # no tag: nothing for lock to resolve
CHART = str(Path(__file__).parent / "data" / "charts" / "shapes")  # rendered with helm on PATH


def _calls(tmp: Path) -> dict[str, tuple[tuple, dict, object]]:
    """Each public function: (args, kwargs, a check of its answer, or an exception type)."""
    layoutless = tmp / "missing-layout"
    pod = tmp / "pod.yaml"
    pod.write_text(f"kind: Pod\nspec:\n  containers:\n    - name: web\n      image: {PINNED}\n")
    lock = tmp / "images.lock"
    entry = {"reference": "docker.io/library/nginx:1.25", "digest": "sha256:" + "b" * 64}
    lock.write_text(json.dumps({"imgdigest-lock": 1, "images": [entry]}))
    offline = imgdigest.PinOptions(lock=imgdigest.read_lock(lock), offline=True)
    return {
        "resolve": ((f"oci:{layoutless}:1",), {}, imgdigest.NotFoundError),
        "parse_reference": (("nginx",), {}, lambda r: (r.name, r.tag) == ("nginx", None)),
        "normalize_reference": (
            ("nginx",),
            {},
            lambda r: str(r) == "docker.io/library/nginx:latest",
        ),
        "parse_platform": (("linux/arm64",), {}, lambda p: (p.os, p.architecture) == (
            "linux",
            "arm64",
        )),
        "format_platform": (
            (imgdigest.parse_platform("linux/arm/v7"),),
            {},
            lambda s: s == "linux/arm/v7",
        ),
        "read_lock": ((lock,), {}, lambda lk: len(lk) == 1),
        "pin_files": (([str(pod)],), {"options": offline}, lambda p: p.changes == []),
        "pin_text": (
            ("FROM nginx:1.25\n", "Dockerfile", offline),
            {},
            lambda p: p.files[0].new_text == f"FROM nginx:1.25@sha256:{'b' * 64}\n",
        ),
        "pin_resources": (
            (
                "kind: ResourceList\nitems:\n- kind: Pod\n  spec:\n    containers:\n"
                "    - image: nginx:1.25\nfunctionConfig:\n  spec: {offline: true}\n",
                imgdigest.KrmSettings(lock=(str(lock),)),
            ),
            {},
            lambda r: r.text is not None and f"image: nginx:1.25@sha256:{'b' * 64}\n" in r.text,
        ),
        "drift_files": (([str(pod)],), {"offline": True}, lambda r: r.findings == []),
        "lock_files": (([str(pod)],), {}, lambda r: len(r.lock) == 0 and r.exit_code == 0),
        "check_files": (([str(pod)],), {}, lambda r: (r.exit_code, r.images) == (0, 1)),
        "check_chart": ((CHART,), {}, lambda r: (r.exit_code, r.images) == (1, 10)),
        "pin_chart": (
            (CHART,),
            {"options": offline},
            lambda p: len(p.images) == 10 and p.changes == [] and p.exit_code == 3,  # not locked
        ),
        "audit_pods": (
            ([str(Path(__file__).parent / "data" / "audit" / "pods-crio.json")],),
            {"options": imgdigest.AuditOptions(offline=True)},
            lambda r: (r.exit_code, r.pods, len(r.workloads)) == (0, 3, 2),
        ),
        "check_text": (
            ("FROM nginx:1.25\n", "Dockerfile"),
            {},
            lambda r: [v.rule for v in r.violations] == ["no-digest"],
        ),
        "check_object": (
            (POD,),
            {},
            lambda m: m == ["container <web> uses an image without a digest <nginx:1.25>"],
        ),
        "gatekeeper_policy": ((), {}, lambda t: "kind: K8sImageDigests" in t),
        "kyverno_policy": ((), {}, lambda t: "kind: ClusterPolicy" in t),
        "generate_keys": (
            (str(tmp / "cosign"),),
            {"password": b"pw"},
            lambda k: k.public_path.endswith("cosign.pub")
            and (tmp / "cosign.key").read_text().startswith("-----BEGIN ENCRYPTED SIGSTORE"),
        ),
    }


def test_every_submodule_imports_and_no_public_name_is_a_module(tmp_path, tmp_home) -> None:
    for name in SUBMODULES:
        importlib.import_module(name)
    calls = _calls(tmp_path)
    for name in imgdigest.__all__:
        value = getattr(imgdigest, name)
        assert not isinstance(value, types.ModuleType), f"imgdigest.{name} is a module"
        if inspect.isfunction(value):
            assert name in calls, f"imgdigest.{name} has no call in this test"
    for name, (args, kwargs, check) in calls.items():
        fn = getattr(imgdigest, name)
        if isinstance(check, type) and issubclass(check, BaseException):
            with pytest.raises(check):
                fn(*args, **kwargs)
            continue
        answer = fn(*args, **kwargs)
        assert check(answer), f"imgdigest.{name}{args} gave {answer!r}"


def test_the_shadowing_bug_stays_fixed_in_a_fresh_interpreter() -> None:
    # pin imports the resolver module; the function must still be the function after it
    code = (
        "import imgdigest, imgdigest.resolver, imgdigest.pin, imgdigest.drift, imgdigest.check\n"
        "import imgdigest.lock, imgdigest.copy\n"
        "assert callable(imgdigest.resolve), imgdigest.resolve\n"
        "for n in imgdigest.__all__:\n"
        "    assert type(getattr(imgdigest, n)).__name__ != 'module', n\n"
        "print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert (out.returncode, out.stdout, out.stderr) == (0, "ok\n", "")


def test_every_exception_class_is_exported() -> None:
    classes = {
        obj
        for module in map(importlib.import_module, SUBMODULES)
        for obj in vars(module).values()
        if isinstance(obj, type)
        and issubclass(obj, errors.ImgdigestError)
        and obj.__module__.startswith("imgdigest")
    }
    missing = sorted(c.__name__ for c in classes if getattr(imgdigest, c.__name__, None) is not c)
    assert missing == []


def test_errors_name_their_input_in_attributes() -> None:
    with pytest.raises(imgdigest.InvalidReferenceError) as bad:
        imgdigest.parse_reference("Not A Reference")
    assert bad.value.reference == "Not A Reference"
    assert bad.value.exit_code == 2
    [unreadable] = imgdigest.check_files(["/nonexistent/pod.yaml"]).errors
    assert isinstance(unreadable, imgdigest.DocumentError)
    assert (unreadable.file, unreadable.exit_code) == ("/nonexistent/pod.yaml", 2)
    err = imgdigest.NotFoundError("x: not found", reference="x", reason="not found")
    assert (err.reference, err.host, err.file, err.line, err.reason) == (
        "x",
        None,
        None,
        None,
        "not found",
    )


def test_dir_lists_the_public_names() -> None:
    assert set(imgdigest.__all__) <= set(dir(imgdigest))
