"""Images in Dockerfiles and Containerfiles.

Three instructions name images: ``FROM [--platform=P] IMAGE [AS NAME]``,
``COPY``/``ADD --from=IMAGE`` and ``RUN --mount=...,from=IMAGE``. A ``--from`` may also
name an earlier stage (by ``AS`` name or by index) and any of them may be built from
``ARG`` values (``FROM ${BASE}``); those are not references, so they are left alone
with a note. ``scratch`` is no image at all.

The reader follows BuildKit's surface syntax as far as finding these needs: the
``# escape=`` parser directive, line continuations (with comment and blank lines inside
them dropped), case-insensitive instruction names, and heredoc bodies (``<<EOF``),
which are skipped so that a ``FROM`` inside a script is not mistaken for one. Offsets
index the text given, so a site's span is the token exactly as written.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterator
from dataclasses import dataclass

from imgdigest.documents.model import DockerfileImage, ImageSite, Note

#: BuildKit's directive: after the ``#`` and any space, ``name = value`` (value non-empty).
_DIRECTIVE = re.compile(r"#\s*([a-zA-Z][a-zA-Z0-9]*)[\t\n\f\r ]*=[\t\n\f\r ]*(.+?)\s*")
#: The names BuildKit knows; any other ``# name=value`` is a comment and ends the directives.
_DIRECTIVE_NAMES = frozenset({"syntax", "escape", "check"})
_HEREDOC = re.compile(r"<<(-?)([\"']?)([A-Za-z_][A-Za-z0-9_]*)\2")
_TOKEN = re.compile(r"\S+")
_LINE = re.compile(r"[^\n]*\n|[^\n]+$")


@dataclass(slots=True)
class _Instruction:
    keyword: str
    #: (offset in the file text, character) for every character of the logical line
    chars: list[tuple[int, str]]
    heredocs: list[tuple[str, bool]]


def _escape_char(lines: list[str]) -> str:
    """The escape character, by BuildKit's rules for parser directives.

    Directives are read only from the first lines, each stripped of leading space; the
    first line that is not one - a plain comment, an unknown ``# name=``, a blank line,
    an instruction - ends them. Names are case-insensitive (``# EsCaPe=``). BuildKit
    refuses a repeated directive; the first one stands here.
    """
    seen: set[str] = set()
    escape = "\\"
    for line in lines:
        match = _DIRECTIVE.fullmatch(line.rstrip("\r\n").lstrip())
        if not match:
            break
        name = match.group(1).lower()
        if name not in _DIRECTIVE_NAMES:
            break
        if name in seen:
            continue
        seen.add(name)
        if name == "escape" and match.group(2) in ("\\", "`"):
            escape = match.group(2)
    return escape


def _instructions(text: str) -> Iterator[_Instruction]:
    lines = _LINE.findall(text)
    escape = _escape_char(lines)
    offset = 0
    i = 0
    while i < len(lines):
        line = lines[i]
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            offset += len(line)
            i += 1
            continue
        chars: list[tuple[int, str]] = []
        while True:
            body = line.rstrip("\r\n")
            content = body.rstrip()
            continued = content.endswith(escape)
            if continued:
                content = content[:-1]
            chars.extend((offset + k, ch) for k, ch in enumerate(content))
            offset += len(line)
            i += 1
            if not continued:
                break
            # Continuation: skip comment and blank lines, then join the next line.
            while i < len(lines) and (not lines[i].strip() or lines[i].lstrip().startswith("#")):
                offset += len(lines[i])
                i += 1
            if i >= len(lines):
                break
            line = lines[i]
        logical = "".join(ch for _, ch in chars)
        keyword = logical.split(None, 1)[0].upper() if logical.strip() else ""
        heredocs = [(m.group(3), m.group(1) == "-") for m in _HEREDOC.finditer(logical)]
        yield _Instruction(keyword, chars, heredocs if keyword in ("RUN", "COPY", "ADD") else [])
        for terminator, strip_tabs in heredocs if keyword in ("RUN", "COPY", "ADD") else []:
            while i < len(lines):
                body = lines[i].rstrip("\r\n")
                offset += len(lines[i])
                i += 1
                if (body.lstrip("\t") if strip_tabs else body) == terminator:
                    break


def _tokens(ins: _Instruction) -> list[tuple[int, int, str]]:
    """(start index, end index into ``ins.chars``, token) for each word after the keyword."""
    logical = "".join(ch for _, ch in ins.chars)
    return [(m.start(), m.end(), m.group()) for m in _TOKEN.finditer(logical)][1:]


class _Lines:
    def __init__(self, text: str) -> None:
        self.starts = [0] + [m.end() for m in re.finditer(r"\r\n|\n|\r", text)]

    def position(self, offset: int) -> tuple[int, int]:
        index = bisect.bisect_right(self.starts, offset) - 1
        return index + 1, offset - self.starts[index] + 1


def dockerfile_sites(text: str, file: str, base: int = 0) -> Iterator[ImageSite | Note]:
    """Every image a Dockerfile names, in order; ``base`` is added to every offset."""
    lines = _Lines(text)
    stages: dict[str, int] = {}
    stage_index = -1

    def site(
        ins: _Instruction, start: int, end: int, value: str, detail: DockerfileImage
    ) -> ImageSite | Note | None:
        first = ins.chars[start][0]
        last = ins.chars[end - 1][0] + 1
        line, column = lines.position(first)
        if value.lower() == "scratch":
            return None
        if "$" in value:
            return Note(file, line, f"{ins.keyword} built from ARG values left alone: {value}")
        if value.lower() in stages or (ins.keyword != "FROM" and value.isdigit()):
            return Note(file, line, f"{ins.keyword} names build stage {value!r}, not an image")
        return ImageSite(
            file=file,
            line=line,
            column=column,
            start=first + base,
            end=last + base,
            image=value,
            raw=text[first:last],
            quoting="bare",
            source="dockerfile",
            role="dockerfile",
            name=detail.stage,
            document=0,
            path=(),
            detail=detail,
        )

    for ins in _instructions(text):
        tokens = _tokens(ins)
        found: ImageSite | Note | None = None
        if ins.keyword == "FROM":
            stage_index += 1
            platform = None
            args = list(tokens)
            while args and args[0][2].startswith("--"):
                flag = args.pop(0)[2]
                if flag.lower().startswith("--platform="):
                    platform = flag.split("=", 1)[1]
            if not args:
                continue
            start, end, image = args[0]
            stage = args[2][2] if len(args) >= 3 and args[1][2].lower() == "as" else None
            detail = DockerfileImage("FROM", platform, stage, stage_index)
            found = site(ins, start, end, image, detail)
            if stage is not None:
                stages[stage.lower()] = stage_index
        elif ins.keyword in ("COPY", "ADD"):
            for start, end, token in tokens:
                if not token.startswith("--"):
                    break
                if token.lower().startswith("--from="):
                    cut = len("--from=")
                    detail = DockerfileImage(ins.keyword, None, None, stage_index)
                    found = site(ins, start + cut, end, token[cut:], detail)
        elif ins.keyword == "RUN":
            for start, _end, token in tokens:
                if not token.startswith("--"):
                    break
                if not token.lower().startswith("--mount="):
                    continue
                position = start + len("--mount=")
                for part in token[len("--mount=") :].split(","):
                    key, _, value = part.partition("=")
                    if key.lower() == "from" and value:
                        detail = DockerfileImage("RUN", None, None, stage_index)
                        begin = position + len(key) + 1
                        found = site(ins, begin, begin + len(value), value, detail)
                        if found is not None:
                            yield found
                        found = None
                    position += len(part) + 1
        if found is not None:
            yield found
