"""``check``: the Gatekeeper ``K8sImageDigests`` verdict, before deploy.

The rule is the template's, word for word, so a manifest that passes here passes in
the cluster and the messages are the ones the cluster would print:

* an image "has a digest" when the unanchored pattern ``pinned.GATEKEEPER_DIGEST`` is
  found anywhere in it - no normalization, no length check (``@sha256:abc`` passes);
* an exemption matches exactly, or as a prefix when it ends in ``*`` (only one ``*``
  is cut, so ``a**`` is the literal prefix ``a*``; a ``*`` elsewhere is literal);
* ``<role> <NAME> uses an image without a digest <IMAGE>``, with ``%v`` formatting of
  non-string values, and nothing at all for a container without ``name`` or ``image``
  (Rego's ``sprintf`` of an undefined value is undefined);
* one object's messages form a set: two identical containers give one message.

What differs is *where* it looks. ``compat="gatekeeper"`` reads exactly what the template
reads: ``spec.containers``, ``spec.initContainers`` and ``spec.ephemeralContainers`` of
every object. The default reads every pod spec (workload templates, CronJobs, image
volumes, configured custom resources) and the other files the finder knows
(kustomize, Dockerfile, Compose, Actions) - what a CI user wants, since the cluster
only judges the Pods once they are created.

``strict`` goes beyond the template: the image must be a valid reference by the
distribution grammar whose digest is well-formed for its algorithm
(``pinned.STRICT_REFERENCE``, shared with the ``--strict`` Rego so both give the same
verdicts; ``imgdigest.pinned`` says which rule applies where). ``verify`` asks the
registry whether each digest exists and whether its tag still points at it.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from imgdigest import report as reports
from imgdigest.digest import Digest
from imgdigest.documents import (
    STDIN,
    FileScan,
    FinderOptions,
    ImageSite,
    Note,
    find_images,
    scan_text,
)
from imgdigest.documents.model import DockerfileImage, DocumentSyntaxError
from imgdigest.errors import DocumentError, ImgdigestError
from imgdigest.kubernetes import (
    CONTAINER_LISTS,
    DICT_ADAPTER,
    NO_EXTRA_PATHS,
    ExtraPaths,
    field_path,
    image_slots,
    iter_objects,
)
from imgdigest.pinned import PHRASES, Rule, has_digest, strict_problem
from imgdigest.reference import parse as parse_reference
from imgdigest.rego import format_value

#: Each rule as SARIF lists it: "uses an image without a digest" is "an image without a digest".
RULES = [reports.Rule(rule, phrase.removeprefix("uses ")) for rule, phrase in PHRASES.items()]

Compat = Literal["gatekeeper"]

#: The roles the template's message names; a container without ``name`` gets no message.
CONTAINER_ROLES = frozenset(role for _, role in CONTAINER_LISTS)


@dataclass(frozen=True, slots=True)
class CheckOptions:
    """What ``check`` enforces."""

    compat: Compat | None = None
    strict: bool = False
    #: exemptImages entries (strings; other JSON values are compared as Rego compares them)
    exempt: tuple[Any, ...] = ()
    verify: bool = False
    #: with ``verify``: a PEM public key each digest must carry a cosign signature of
    key: str | None = None
    #: with ``key``: the repository the signature must name (its docker-reference)
    identity: str | None = None
    finder: FinderOptions = field(default_factory=FinderOptions)


@dataclass(frozen=True, slots=True)
class Violation:
    """One image that fails the rule, where it is, and the message to print."""

    site: ImageSite
    rule: Rule
    message: str
    detail: str | None = None  #: why, when the rule alone does not say (strict, verify)

    @property
    def file(self) -> str:
        return self.site.file

    @property
    def line(self) -> int:
        return self.site.line

    @property
    def column(self) -> int:
        return self.site.column

    def finding(self) -> reports.Finding:
        """This violation as every output format writes it."""
        site = self.site
        return reports.Finding(
            file=site.file,
            line=site.line,
            column=site.column,
            rule=self.rule,
            message=self.message,
            detail=self.detail,
            extra={
                "image": site.image,
                "role": site.role,
                "name": site.name,
                "kind": site.kind,
                "object": site.object_name,
                "namespace": site.namespace,
                "path": site.field_path or None,
                "document": site.document,
            },
        )


@dataclass(slots=True)
class CheckReport:
    """Everything one ``check`` run found."""

    violations: list[Violation] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)
    errors: list[DocumentError] = field(default_factory=list)
    files: list[str] = field(default_factory=list)  #: every file looked at
    images: int = 0

    @property
    def exit_code(self) -> int:
        """0 clean, 1 violations, 2 when some input could not be read."""
        if self.errors:
            return 2
        return 1 if self.violations else 0

    def to_report(self) -> reports.Report:
        """The findings in the shape every output format (text, JSON, SARIF...) writes."""
        findings = [v.finding() for v in self.violations]
        errors = [
            reports.Finding(
                file=e.file or "?",
                line=e.line,
                column=getattr(e, "column", None),
                rule="unreadable",
                message=getattr(e, "problem", str(e)),
            )
            for e in self.errors
        ]
        notes = [
            reports.Finding(n.file, n.line, None, "skipped", n.message, level="note")
            for n in self.notes
        ]
        return reports.Report(
            command="check",
            findings=findings,
            errors=errors,
            notes=notes,
            files=list(dict.fromkeys(self.files)),
            rules=RULES,
            summary={
                "files": len(self.files),
                "images": self.images,
                "violations": len(self.violations),
                "errors": len(self.errors),
                "exit_code": self.exit_code,
            },
        )

    def to_json(self) -> dict[str, Any]:
        """What ``check --format json`` prints."""
        return self.to_report().to_json()


# --- the rule ----------------------------------------------------------------------------


def _rego_equal(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return not (isinstance(a, float) and math.isnan(a)) and a == b
    return type(a) is type(b) and a == b


def exemption_list(value: Any) -> tuple[Any, ...]:
    """``exemptImages[_]`` as Rego iterates it: list items, map values, else nothing."""
    if isinstance(value, list | tuple):
        return tuple(value)
    if isinstance(value, Mapping):
        return tuple(value.values())
    return ()


def is_exempt(image: Any, exemptions: Iterable[Any]) -> bool:
    """The template's ``is_exempt``: exact match, or prefix match for a trailing ``*``."""
    for exemption in exemptions:
        starred = isinstance(exemption, str) and exemption.endswith("*")
        if not starred:
            if _rego_equal(exemption, image):
                return True
        elif isinstance(image, str) and image.startswith(exemption[:-1]):
            return True
    return False


def judge(image: Any, *, strict: bool = False, exempt: Sequence[Any] = ()) -> Rule | None:
    """The verdict for one image value (any JSON value, as the template sees it)."""
    if is_exempt(image, exempt):
        return None
    if not isinstance(image, str) or not has_digest(image):
        return "no-digest"
    if strict:
        return strict_problem(image)
    return None


def _reason(image: str, rule: Rule) -> str | None:
    """distribution's own words for what is wrong (go-digest's, for the digest part)."""
    try:
        if rule == "invalid-digest":
            Digest.parse(image.rpartition("@")[2])
        else:
            parse_reference(image)
    except ImgdigestError as exc:
        return str(exc)
    return None


# --- labels: who uses the image ------------------------------------------------------------


def label(site: ImageSite) -> str:
    """``container <web>``, ``service <db>``, ``stage <builder>`` ... for the message."""
    if site.source == "kubernetes":
        if site.role == "image":
            return f"field <{site.field_path}>"
        return f"{site.role} <{site.name}>"
    if site.source == "kustomize":
        return f"kustomize image <{site.name}>"
    if site.source == "helm":
        return f"Helm value <{site.field_path}>"
    if site.source == "compose":
        return f"service <{site.name}>"
    if site.source == "dockerfile" and isinstance(site.detail, DockerfileImage):
        detail = site.detail
        if detail.instruction == "FROM":
            return f"stage <{detail.stage if detail.stage is not None else detail.stage_index}>"
        flag = "--from" if detail.instruction in ("COPY", "ADD") else "--mount"
        return f"{detail.instruction} {flag} in stage <{detail.stage_index}>"
    path = site.path
    if len(path) >= 3 and path[0] == "jobs":
        if path[2] == "services":
            return f"job <{path[1]}> service <{path[3]}>"
        if path[2] == "steps":
            return f"job <{path[1]}> step <{path[3]}>"
        return f"job <{path[1]}> container"
    return "action"


def message(who: str, rule: Rule, image: str) -> str:
    return f"{who} {PHRASES[rule]} <{image}>"


def _image_value(site: ImageSite) -> Any:
    return site.image if site.value_type == "str" else site.value


def site_violation(site: ImageSite, options: CheckOptions) -> Violation | None:
    """The verdict on one site found by the finder."""
    if site.role in CONTAINER_ROLES and site.name is None:
        return None  # the template's sprintf of an undefined name yields no message
    rule = judge(_image_value(site), strict=options.strict, exempt=options.exempt)
    if rule is None:
        return None
    detail = _reason(site.image, rule) if rule in ("invalid-reference", "invalid-digest") else None
    return Violation(site, rule, message(label(site), rule, site.image), detail)


# --- running over files ----------------------------------------------------------------------


def _finder_options(options: CheckOptions) -> FinderOptions:
    from dataclasses import replace

    if options.compat == "gatekeeper":
        return replace(options.finder, scope="gatekeeper")
    return options.finder


def check_scan(scan: FileScan, options: CheckOptions) -> list[Violation]:
    """Violations of one scanned file; in gatekeeper mode one object's messages are a set."""
    out: list[Violation] = []
    seen: set[tuple[int, int | None, str]] = set()
    for site in scan.sites:
        violation = site_violation(site, options)
        if violation is None:
            continue
        if options.compat == "gatekeeper":
            key = (site.document, site.list_item, violation.message)
            if key in seen:
                continue
            seen.add(key)
        out.append(violation)
    out.sort(key=lambda v: v.site.start)  # file order reads best; the finder's is per object
    return out


Verifier = Callable[[list[ImageSite]], Iterator[Violation]]


def check_paths(
    paths: Iterable[str],
    options: CheckOptions = CheckOptions(),
    *,
    verifier: Verifier | None = None,
) -> CheckReport:
    """Run the check over files and directories; errors stay with their file."""
    return check_scans(find_images(paths, _finder_options(options)), options, verifier)


def check_text(
    text: str, file: str = STDIN, options: CheckOptions = CheckOptions()
) -> CheckReport:
    """Run the check over one text; ``file`` (its name) decides which reader reads it."""
    return check_scans([scan_text(text, file, options=_finder_options(options))], options)


def check_files(
    paths: Iterable[str], options: CheckOptions = CheckOptions()
) -> Iterator[CheckReport]:
    """``check_paths`` one file at a time, each file's report as soon as it is read.

    A report of every finding grows with them (about 2 kB each); a caller that writes each
    part out as it comes holds one file's findings at most, however large the tree.
    """
    for scan in find_images(paths, _finder_options(options)):
        part, _ = _check_file(scan, options)
        yield part


def _check_file(scan: FileScan, options: CheckOptions) -> tuple[CheckReport, bool]:
    """One scanned file's report, and whether the rule could be applied to it."""
    part = CheckReport(
        files=[scan.file], images=len(scan.sites), notes=scan.notes, errors=scan.errors
    )
    try:
        part.violations = check_scan(scan, options)
    except Exception as exc:  # one file's bug must not lose the report on the others
        part.errors.append(
            DocumentSyntaxError(scan.file, None, f"internal error while checking: {exc!r}")
        )
        return part, False
    finally:
        scan.text = None  # the report keeps sites, not whole files
    return part, True


def check_scans(
    scans: Iterable[FileScan], options: CheckOptions, verifier: Verifier | None = None
) -> CheckReport:
    """The check of files already scanned (``verifier`` asks about the pinned ones)."""
    report = CheckReport()
    pinned: list[ImageSite] = []
    for scan in scans:
        part, checked = _check_file(scan, options)
        report.files.extend(part.files)
        report.images += part.images
        report.notes.extend(part.notes)
        report.errors.extend(part.errors)
        if not checked:
            continue
        violations = part.violations
        report.violations.extend(violations)
        if verifier is not None:
            failed = {id(v.site) for v in violations}
            pinned.extend(
                s
                for s in scan.sites
                if id(s) not in failed
                and s.value_type == "str"
                and not is_exempt(s.image, options.exempt)
            )
    if verifier is not None and pinned:
        report.violations.extend(verifier(pinned))
        order = {file: index for index, file in enumerate(report.files)}
        report.violations.sort(key=lambda v: (order.get(v.file, 0), v.site.start))
    return report


def load_constraint(path: str) -> tuple[Any, ...]:
    """``spec.parameters.exemptImages`` of every ``K8sImageDigests`` in a YAML file."""
    from imgdigest.documents import load_all
    from imgdigest.errors import ConfigError
    from imgdigest.jsonfile import decode_text, read_bounded

    try:
        text = decode_text(read_bounded(path, "constraint"), path, "constraint")
    except FileNotFoundError:
        raise ConfigError(f"{path}: constraint not found") from None
    try:
        documents = load_all(text)
    except Exception as exc:  # yaml.YAMLError
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        raise DocumentSyntaxError(
            path, line, f"invalid YAML: {getattr(exc, 'problem', exc)}"
        ) from None
    exempt: list[Any] = []
    found = False
    for doc in documents:
        for _, obj in iter_objects(doc, DICT_ADAPTER):
            if isinstance(obj, Mapping) and obj.get("kind") == "K8sImageDigests":
                found = True
                spec = obj.get("spec")
                params = spec.get("parameters") if isinstance(spec, Mapping) else None
                if isinstance(params, Mapping):
                    exempt.extend(exemption_list(params.get("exemptImages")))
    if not found:
        raise ConfigError(f"{path}: no K8sImageDigests constraint in this file")
    return tuple(exempt)


#: The registry questions, asked of a resolver the caller owns (a session's, or one of
#: the command's own): a session's connections, token and answers serve them too.
AsyncVerifier = Callable[[list[ImageSite], Any], Awaitable[list[Violation]]]


def registry_verifier() -> AsyncVerifier:
    """``--verify``: each digest exists in its registry and each tag still names it.

    The questions are the ones ``imgdigest drift`` asks, answered by the same code (one
    resolver, unique references resolved once, mirrors honoured, the kind of pin kept:
    a per-platform pin is compared with the same platform's current manifest).
    """

    async def verify(sites: list[ImageSite], resolver: Any) -> list[Violation]:
        from imgdigest.drift import drift_scans

        by_file: dict[str, FileScan] = {}
        for site in sites:
            by_file.setdefault(site.file, FileScan(file=site.file, path=None)).sites.append(site)
        report = await drift_scans(list(by_file.values()), resolver)
        at = {(s.file, s.line, s.column): s for s in sites}
        named = {(s.file, s.line, s.image): s for s in sites}
        rules: dict[str, Rule] = {"missing": "digest-not-found", "moved": "tag-moved"}
        out: list[Violation] = []
        for finding in report.findings:
            site = at.get((finding.file, finding.line, finding.column))
            if site is not None:
                rule = rules.get(finding.problem, "unverified")
                text = message(label(site), rule, site.image)
                out.append(Violation(site, rule, text, finding.detail))
        for failure in report.failures:
            site = named.get((failure.file, failure.line, failure.reference))
            if site is not None:
                text = message(label(site), "unverified", site.image)
                out.append(Violation(site, "unverified", text, failure.reason))
        return out

    return verify


def signature_verifier(key: str, identity: str | None = None) -> AsyncVerifier:
    """``--verify --key``: each pinned digest must carry a cosign signature ``key`` verifies.

    A digest without one is an ``unsigned`` violation whose detail says why (no signature,
    signed for another digest, or none verifies with the key); a registry that cannot be
    asked gives ``unverified``. The key is read before anything is asked.
    """
    from imgdigest.signatures.keys import load_public_key

    public = load_public_key(key)

    async def verify(sites: list[ImageSite], resolver: Any) -> list[Violation]:
        from imgdigest.signatures.enforce import verdicts

        images = [s.image for s in sites]
        answers = await verdicts(resolver, images, public, key_name=key, identity=identity)
        out: list[Violation] = []
        for site in sites:
            verdict = answers[site.image]
            if verdict.problem is None:
                continue
            rule: Rule = "unverified" if verdict.unverified else "unsigned"
            text = message(label(site), rule, site.image)
            out.append(Violation(site, rule, text, verdict.problem))
        return out

    return verify


def async_verifier_for(options: CheckOptions) -> AsyncVerifier | None:
    """What ``options`` asks of registries: nothing, ``--verify``, or also ``--key``."""
    if options.identity and not options.key:
        from imgdigest.errors import UsageError

        raise UsageError("--identity needs --key")
    if not (options.verify or options.key):
        return None
    verifier = registry_verifier()
    if options.key:
        verifier = both(verifier, signature_verifier(options.key, options.identity))
    return verifier


def verifier_for(options: CheckOptions, resolve_options: Any = None) -> Verifier | None:
    """``async_verifier_for`` on a resolver of its own, for a caller without a session."""
    asked = async_verifier_for(options)
    if asked is None:
        return None

    def verify(sites: list[ImageSite]) -> Iterator[Violation]:
        from imgdigest.resolver import Resolver

        with Resolver(resolve_options) as resolver:
            return iter(resolver.run(asked(sites, resolver.inner)))

    return verify


def both(first: AsyncVerifier, second: AsyncVerifier) -> AsyncVerifier:
    """Two verifiers' violations; a site the first already faults is not asked again."""

    async def verify(sites: list[ImageSite], resolver: Any) -> list[Violation]:
        found = await first(sites, resolver)
        faulted = {id(v.site) for v in found}
        return found + await second([s for s in sites if id(s) not in faulted], resolver)

    return verify


# --- the same verdict on a plain object (webhook, conformance) -------------------------------


def object_messages(
    obj: Mapping[str, Any],
    *,
    compat: Compat | None = "gatekeeper",
    strict: bool = False,
    exempt: Sequence[Any] = (),
    extra: ExtraPaths = NO_EXTRA_PATHS,
) -> list[str]:
    """The messages for one JSON object (an AdmissionReview's ``object``), in order.

    With ``compat="gatekeeper"`` this is what the template's ``violation`` set holds for
    ``input.review.object = obj``; otherwise every pod spec of the object is judged.
    """
    messages: list[str] = []
    scope = "gatekeeper" if compat == "gatekeeper" else "workloads"
    for _, item in iter_objects(obj, DICT_ADAPTER) if compat is None else [(None, obj)]:
        if not isinstance(item, Mapping):
            continue
        for slot in image_slots(item, scope=scope, extra=extra):
            if slot.image is None and not (
                isinstance(slot.owner, Mapping) and "image" in slot.owner
            ):
                continue
            named = isinstance(slot.owner, Mapping) and "name" in slot.owner
            if slot.role in CONTAINER_ROLES and not named:
                continue
            rule = judge(slot.image, strict=strict, exempt=exempt)
            if rule is None:
                continue
            who = f"{slot.role} <{format_value(slot.name)}>"
            if slot.role == "image":
                who = f"field <{field_path(slot.path)}>"
            text = message(who, rule, format_value(slot.image))
            if text not in messages:
                messages.append(text)
    return messages
