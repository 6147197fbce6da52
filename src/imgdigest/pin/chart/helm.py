"""Running ``helm template``: the one place a chart is rendered, by the user's own Helm.

The chart's templates alone know which values they read, so nothing here reimplements
them: the real binary renders, and its failure is reported in its own words.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from imgdigest.errors import ChartError

#: ``helm template`` may take this long before it is given up on.
RENDER_TIMEOUT = 300.0
#: The flag ``--set`` items are passed with, and the "file" a value set there is reported in.
SET = "--set"


def find_helm(helm: str | None = None) -> str:
    """The ``helm`` to run: the one given, else the first on ``PATH``."""
    import shutil  # loaded when a chart is rendered, not by every pin

    found = shutil.which(helm or "helm")
    if found is None:
        raise ChartError(
            f"{helm or 'helm'}: not found on PATH; --chart renders with Helm 3 or 4 "
            "(https://helm.sh/docs/intro/install/)",
            file=helm or "helm",
        )
    return found


def render(
    chart: str,
    values: Sequence[str] = (),
    set_values: Sequence[str] = (),
    *,
    release: str = "release",
    helm: str | None = None,
) -> str:
    """``helm template``'s output; its own message, on one line, when it fails."""
    command = [find_helm(helm), "template", release, chart]
    for path in values:
        command += ["-f", path]
    for item in set_values:
        command += [SET, item]
    env = {k: v for k, v in os.environ.items() if not k.startswith("HELM_POST_RENDERER")}
    import subprocess

    try:
        done = subprocess.run(
            command,
            capture_output=True,
            text=True,
            errors="replace",
            timeout=RENDER_TIMEOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise ChartError(
            f"{chart}: helm template did not finish in {RENDER_TIMEOUT:.0f}s", file=chart
        ) from None
    except OSError as exc:
        raise ChartError(f"{chart}: cannot run helm: {exc.strerror or exc}", file=chart) from None
    if done.returncode != 0:
        said = _helm_message(done.stderr) or f"exit status {done.returncode}"
        raise ChartError(f"{chart}: helm template failed: {said}", file=chart, reason=said)
    return done.stdout


def _helm_message(stderr: str) -> str:
    """Helm's ``Error:`` block on one line (Helm 4 spreads one error over several)."""
    lines = stderr.splitlines()
    start = next((i for i, x in enumerate(lines) if x.startswith("Error:")), None)
    if start is None:
        return next((x.strip() for x in reversed(lines) if x.strip()), "")
    block: list[str] = []
    for line in lines[start:]:
        if not line.strip() or line.startswith("Use --debug"):
            break
        block.append(line.strip())
    return " ".join(block).removeprefix("Error:").strip()
