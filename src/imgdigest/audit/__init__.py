"""``audit``: the digests a cluster actually runs, and where they drift apart.

The input is what ``kubectl get pods -A -o json`` prints, optionally with the workloads
(``kubectl get deploy,sts,ds,rs,job,cronjob -A -o json``): this package asks no cluster
anything, the user's kubectl does, with the credentials it already has. The steps live
in their own modules: ``reader`` streams the JSON, ``imageid`` reads each runtime's
``imageID``, ``inventory`` groups pods by owner, ``job`` judges, ``fix`` and ``page``
render.
"""

from __future__ import annotations

from imgdigest.audit.fix import Fix
from imgdigest.audit.job import AuditOptions, audit_inventory, audit_paths
from imgdigest.audit.model import (
    AuditReport,
    ContainerAudit,
    Finding,
    ResolveFailure,
    RunningDigest,
    WorkloadAudit,
)

__all__ = [
    "AuditOptions",
    "AuditReport",
    "ContainerAudit",
    "Finding",
    "Fix",
    "ResolveFailure",
    "RunningDigest",
    "WorkloadAudit",
    "audit_inventory",
    "audit_paths",
]
