"""Findings in the formats CI systems read: text, JSON, GitHub annotations, SARIF, JUnit.

Commands that judge files (``check``, and anything else that reports problems at a
file position) turn their results into ``Finding`` records and let this module write
them, so every command speaks each format the same way:

* ``text`` - ``file:line:col: message``, the shape editors and compilers use;
* ``json`` - one object with ``findings``, ``errors``, ``notes`` and a ``summary``;
* ``github`` - ``::error file=...,line=...,col=...::message`` workflow commands,
  which GitHub turns into annotations on the pull request;
* ``sarif`` - SARIF 2.1.0 for code scanning (columns counted in code points, which
  the run declares, as the finder counts them);
* ``junit`` - one test case per file, failed by its findings, for CI test reports.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from imgdigest import __version__
from imgdigest.display import safe

FORMATS: tuple[str, ...] = ("text", "json", "github", "sarif", "junit")
Level = Literal["error", "warning", "note"]


@dataclass(frozen=True, slots=True)
class Finding:
    """One problem at one place in one file."""

    file: str
    line: int | None
    column: int | None
    rule: str
    message: str
    level: Level = "error"
    detail: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    def where(self) -> str:
        out = self.file
        if self.line is not None:
            out += f":{self.line}"
            if self.column is not None:
                out += f":{self.column}"
        return out


@dataclass(frozen=True, slots=True)
class Rule:
    """A rule's id and one-line description (SARIF lists them)."""

    id: str
    description: str


@dataclass(slots=True)
class Report:
    """What one run produced, ready to be written in any format."""

    command: str
    findings: list[Finding] = field(default_factory=list)
    errors: list[Finding] = field(default_factory=list)  #: unreadable input (level error)
    notes: list[Finding] = field(default_factory=list)  #: left alone on purpose
    files: list[str] = field(default_factory=list)  #: every file looked at
    rules: Sequence[Rule] = ()
    summary: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        def obj(f: Finding) -> dict[str, Any]:
            out: dict[str, Any] = {
                "file": f.file,
                "line": f.line,
                "column": f.column,
                "rule": f.rule,
                "message": f.message,
            }
            if f.detail:
                out["detail"] = f.detail
            out.update(f.extra)
            return out

        return {
            "command": self.command,
            "findings": [obj(f) for f in self.findings],
            "errors": [obj(f) for f in self.errors],
            "notes": [obj(f) for f in self.notes],
            "summary": self.summary,
        }


def text(report: Report) -> str:
    lines = []
    for f in report.findings:
        line = f"{f.where()}: {f.message}"
        if f.detail:
            line += f" ({f.detail})"
        lines.append(safe(line))  # file names and values come from the files: never raw
    return "".join(line + "\n" for line in lines)


def _json(report: Report) -> str:
    return json.dumps(report.to_json(), indent=2, ensure_ascii=False) + "\n"


def _escape_data(value: str) -> str:
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(value: str) -> str:
    return _escape_data(value).replace(":", "%3A").replace(",", "%2C")


def github(report: Report) -> str:
    out = []
    for f in [*report.errors, *report.findings, *report.notes]:
        level = {"error": "error", "warning": "warning", "note": "notice"}[f.level]
        props = [f"file={_escape_property(safe(f.file))}"]
        if f.line is not None:
            props.append(f"line={f.line}")
        if f.column is not None:
            props.append(f"col={f.column}")
        props.append(f"title={_escape_property(f'imgdigest {report.command}: {f.rule}')}")
        message = safe(f.message + (f" ({f.detail})" if f.detail else ""))  # CI logs run ANSI
        out.append(f"::{level} {','.join(props)}::{_escape_data(message)}\n")
    return "".join(out)


def _uri(path: str) -> str:
    if os.path.isabs(path):
        from pathlib import Path

        return Path(path).as_uri()
    return path.replace(os.sep, "/")


def sarif(report: Report) -> str:
    rules = list(report.rules)
    known = {r.id for r in rules}
    for f in [*report.findings, *report.errors]:
        if f.rule not in known:
            rules.append(Rule(f.rule, f.rule))
            known.add(f.rule)
    index = {r.id: i for i, r in enumerate(rules)}
    results = []
    for f in [*report.findings, *report.errors]:
        region: dict[str, int] = {}
        if f.line is not None:
            region["startLine"] = f.line
            if f.column is not None:
                region["startColumn"] = f.column
        location: dict[str, Any] = {"artifactLocation": {"uri": _uri(f.file)}}
        if region:
            location["region"] = region
        result: dict[str, Any] = {
            "ruleId": f.rule,
            "ruleIndex": index[f.rule],
            "level": f.level,
            "message": {"text": f.message + (f" ({f.detail})" if f.detail else "")},
            "locations": [{"physicalLocation": location}],
        }
        results.append(result)
    doc = {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "imgdigest",
                        "version": __version__,
                        "rules": [
                            {"id": r.id, "shortDescription": {"text": r.description}} for r in rules
                        ],
                    }
                },
                "columnKind": "unicodeCodePoints",
                "results": results,
            }
        ],
    }
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def junit(report: Report) -> str:
    by_file: dict[str, list[Finding]] = {file: [] for file in report.files}
    errors_by_file: dict[str, list[Finding]] = {}
    for f in report.findings:
        by_file.setdefault(f.file, []).append(f)
    for f in report.errors:
        by_file.setdefault(f.file, [])
        errors_by_file.setdefault(f.file, []).append(f)
    failures = sum(1 for file, fs in by_file.items() if fs and file not in errors_by_file)
    import xml.etree.ElementTree as ET  # only JUnit needs it: keep it off check's start-up

    suites = ET.Element("testsuites")
    suite = ET.SubElement(
        suites,
        "testsuite",
        name=f"imgdigest {report.command}",
        tests=str(len(by_file)),
        failures=str(failures),
        errors=str(len(errors_by_file)),
    )
    for file, findings in by_file.items():
        # XML 1.0 cannot hold C0 controls at all: escaped, the report stays well-formed
        name = safe(file)
        case = ET.SubElement(suite, "testcase", classname=f"imgdigest.{report.command}", name=name)
        if file in errors_by_file:
            problems = errors_by_file[file]
            error = ET.SubElement(case, "error", message=safe(problems[0].message), type="input")
            error.text = "\n".join(safe(f"{p.where()}: {p.message}") for p in problems)
        if findings:
            failure = ET.SubElement(
                case,
                "failure",
                message=f"{len(findings)} finding{'s' if len(findings) != 1 else ''}",
                type=findings[0].rule,
            )
            failure.text = "\n".join(safe(f"{f.where()}: {f.message}") for f in findings)
    ET.indent(suites)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n"
    )


_WRITERS = {"text": text, "json": _json, "github": github, "sarif": sarif, "junit": junit}


def render(report: Report, fmt: str) -> str:
    """The report in ``fmt`` (one of ``FORMATS``)."""
    return _WRITERS[fmt](report)


def findings_from(items: Iterable[Finding]) -> list[Finding]:
    return sorted(items, key=lambda f: (f.file, f.line or 0, f.column or 0))
