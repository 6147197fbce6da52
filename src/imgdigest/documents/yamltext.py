"""YAML read the fast way: libyaml's composer, one document at a time, with positions.

Why this shape:

* Speed. libyaml's C parser composes a node graph without constructing Python values
  (``NodeLoader``, which also defers resolving plain scalars' tags until asked); the
  finder then follows only the few paths that can hold images. Constructing whole
  documents (what ``yaml.load`` does) is the slow part of PyYAML and is never done here.
* Positions. Every node keeps libyaml's start and end marks; ``mark.index`` counts
  characters (CRLF is two), so spans index the decoded ``str`` directly.
* Streaming and skipping. The text is cut at document markers (``---`` / ``...`` at the
  start of a line, where libyaml itself ends any scalar), and each document is
  composed on its own, so memory follows the largest document, a syntax error in one
  document does not hide the others, and documents that cannot hold an image (no
  ``image`` text in them, or a kind that never has one) are not parsed at all. Files
  whose structure makes cutting uncertain (directives, ``...`` markers, line breaks
  other than LF/CRLF) are composed whole instead.
* Kubernetes semantics. Tags are never constructed, so the YAML 1.1 ``value`` tag of a
  bare ``=`` (which PyYAML's safe constructor rejects) is just a string here, as it is
  for Kubernetes. ``KubeLoader`` is the loader to use wherever a value *is* built.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import yaml
from yaml._yaml import CParser
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from imgdigest.documents.model import DocumentSyntaxError, Quoting, Scalar
from imgdigest.kubernetes import PathSegment

STR = "tag:yaml.org,2002:str"
MERGE = "tag:yaml.org,2002:merge"
SEQ = "tag:yaml.org,2002:seq"
MAP = "tag:yaml.org,2002:map"
#: Placeholder tag of a plain scalar until someone asks what it is (see ``NodeLoader``).
PLAIN = "tag:imgdigest,2026:unresolved-plain"

# Patterns start with a literal so ``re`` can scan for it: ``^`` with re.M is ten
# times slower on megabyte files.
_MARKER = re.compile(r"\n---(?=[ \t\r\n]|$)")
_END_MARKER = re.compile(r"\n\.\.\.(?=[ \t\r\n]|$)")
_LONE_CR = re.compile(r"\r(?!\n)")
#: The rest of a root ``kind:`` line that names a kind and nothing else: one word, bare or
#: quoted, at most a comment after it, and no indented line next (blank lines and comments
#: aside) that would go on with a plain value.
_KIND_VALUE = re.compile(
    r"[ \t]+(?:\"([A-Za-z0-9]+)\"|'([A-Za-z0-9]+)'|([A-Za-z0-9]+))[ \t]*(?:#[^\n]*)?"
    r"(?:\r?\n[ \t]*(?:#[^\n]*)?)*?(?:\r?\n(?![ \t])|$)"
)
_CONTENT_LINE = re.compile(r"^[ \t]*[^\s#]", re.M)

_STYLES: dict[str | None, Quoting] = {
    None: "plain",
    "": "plain",
    "'": "single",
    '"': "double",
    "|": "literal",
    ">": "folded",
}

_TYPE_OF_TAG = {
    "tag:yaml.org,2002:int": "int",
    "tag:yaml.org,2002:float": "float",
    "tag:yaml.org,2002:bool": "bool",
    "tag:yaml.org,2002:null": "null",
}


class NodeLoader(CParser):  # type: ignore[misc]
    """libyaml's composer with tag resolution deferred.

    PyYAML's C composer calls back into Python for every node to resolve its implicit
    tag (and to track path resolvers); that is a third of the time of composing a
    manifest. Here quoted scalars are strings, plain ones get ``PLAIN`` and are
    resolved by ``tag_of`` only when the finder looks at one.
    """

    def descend_resolver(self, parent: Node | None, index: object) -> None:
        return None

    def ascend_resolver(self) -> None:
        return None

    def resolve(self, kind: type, value: object, implicit: tuple[bool, bool]) -> str:
        if kind is ScalarNode:
            return PLAIN if implicit[0] else STR
        return SEQ if kind is SequenceNode else MAP


_RESOLVER = yaml.resolver.Resolver()


def tag_of(node: Node) -> str:
    """The node's tag, resolving a deferred plain scalar's (and remembering it)."""
    if node.tag == PLAIN:
        node.tag = _RESOLVER.resolve(ScalarNode, node.value, (True, False))
    return node.tag


def resolve_tags(node: Node, seen: set[int] | None = None) -> Node:
    """Resolve every deferred tag under ``node`` (before constructing or serializing it)."""
    seen = set() if seen is None else seen
    if id(node) in seen:
        return node
    seen.add(id(node))
    if isinstance(node, ScalarNode):
        tag_of(node)
    elif isinstance(node, SequenceNode):
        for item in node.value:
            resolve_tags(item, seen)
    elif isinstance(node, MappingNode):
        for key, value in node.value:
            resolve_tags(key, seen)
            resolve_tags(value, seen)
    return node


class KubeLoader(yaml.CSafeLoader):
    """CSafeLoader that reads scalars as Kubernetes does where PyYAML would refuse them.

    The YAML 1.1 ``value`` tag (a bare ``=``) becomes the string ``"="``; timestamps stay
    strings (Kubernetes objects carry them as RFC 3339 text).
    """


def _as_string(loader: yaml.SafeLoader, node: Node) -> str:
    return str(loader.construct_scalar(node))  # type: ignore[arg-type]


KubeLoader.add_constructor("tag:yaml.org,2002:value", _as_string)
KubeLoader.add_constructor("tag:yaml.org,2002:timestamp", _as_string)


def load_all(text: str) -> list[Any]:
    """Every document of ``text`` as Python values, read the Kubernetes way."""
    return list(yaml.load_all(text, Loader=KubeLoader))


def document_kind(text: str) -> str | None:
    """The ``kind:`` of a block-style document, read from its text without parsing.

    None unless the text says it plainly, on the one root line that starts with ``kind``:
    ``kind: A`` continued by an indented ``B`` is "A B", ``kind: A-b`` is not ``A``, and a
    second ``kind`` key may be a duplicate, which YAML readers take over the first.
    """
    if text.startswith("kind"):
        at = 4
    else:
        line = text.find("\nkind")
        if line == -1:
            return None
        at = line + 5
    if text.find("\nkind", at) != -1 or not text.startswith(":", at):
        return None
    match = _KIND_VALUE.match(text, at + 1)
    return match.group(match.lastindex or 0) if match else None


def _uncuttable(text: str) -> bool:
    """Whether cutting at ``---`` lines might disagree with libyaml's own reading."""
    head = text[:3]
    return (
        head.startswith("%")
        or ("%" in text and "\n%" in text)  # one memchr first: "\n%" alone is 1 ms per MB
        or (head == "..." and text[3:4] in ("", " ", "\t", "\r", "\n"))
        or _END_MARKER.search(text) is not None
        or ("\r" in text and _LONE_CR.search(text) is not None)
        or "\x85" in text
        or "\u2028" in text
        or "\u2029" in text
    )


@dataclass(slots=True)
class Document:
    """One YAML document: its root node (None when skipped unread) and where it sits."""

    index: int
    node: Node | None
    offset: int  #: character offset of the document's text in the file text
    line: int  #: 0-based line of that offset
    text: str  #: the document's own text (what the node's marks index)


Wanted = Callable[[str], bool]


def yaml_error(file: str, exc: yaml.YAMLError, offset: int, line: int) -> DocumentSyntaxError:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    context = getattr(exc, "context", None)
    if context and getattr(exc, "problem", None):
        problem = f"{context}: {problem}"
    if mark is not None:
        return DocumentSyntaxError(
            file, mark.line + line + 1, f"invalid YAML: {problem}", mark.column + 1
        )
    position = getattr(exc, "position", None)
    if isinstance(position, int):
        return DocumentSyntaxError(
            file, None, f"invalid YAML: {problem} (at character {position + offset})"
        )
    return DocumentSyntaxError(file, None, f"invalid YAML: {problem}")


def iter_documents(
    text: str, file: str, wanted: Wanted | None = None, base: int = 0
) -> Iterator[Document | DocumentSyntaxError]:
    """The documents of ``text`` in order; an invalid one yields its error instead.

    ``wanted(document_text)`` decides whether a document is parsed at all; skipped ones
    are still counted (``Document.node is None``) so indexes match libyaml's. ``base``
    is added to every offset (1 when a byte-order mark was cut off the front).
    """
    if _uncuttable(text):
        yield from _iter_whole(text, file, base)
        return
    starts = [m.start() + 1 for m in _MARKER.finditer(text)]
    if text.startswith("---") and text[3:4] in ("", " ", "\t", "\r", "\n"):
        starts.insert(0, 0)
    chunks: list[tuple[int, int]] = []
    first = starts[0] if starts else len(text)
    if _CONTENT_LINE.search(text, 0, first):
        chunks.append((0, first))
    bounds = [*starts, len(text)]
    chunks.extend((bounds[i], bounds[i + 1]) for i in range(len(starts)))
    line = 0
    previous = 0
    for index, (start, end) in enumerate(chunks):
        line += text.count("\n", previous, start)
        previous = start
        if wanted is not None:  # asked before masking: a skipped document costs one copy
            chunk = text[start:end]
            if not wanted(chunk):
                yield Document(index, None, start + base, line, chunk)
                continue
        masked = _Masked(text, start, end)
        chunk = masked.text
        loader = masked.loader()
        try:
            node = masked.fix(loader.get_single_node())
        except yaml.YAMLError as exc:
            yield yaml_error(file, masked.fix_error(exc), start + base, line)
            continue
        finally:
            loader.dispose()
        yield Document(index, node, start + base, line, chunk)


def _iter_whole(text: str, file: str, base: int) -> Iterator[Document | DocumentSyntaxError]:
    masked = _Masked(text, 0, len(text))
    loader = masked.loader()
    index = 0
    try:
        while loader.check_node():
            yield Document(index, masked.fix(loader.get_node()), base, 0, masked.text)
            index += 1
    except yaml.YAMLError as exc:
        yield yaml_error(file, masked.fix_error(exc), base, 0)
    finally:
        loader.dispose()


#: A run this long of characters that are neither space nor YAML indicators can only be
#: the inside of one scalar (base64 data, a JSON blob in an annotation) or a comment; no
#: image reference is a thousandth of that.
_LONG_RUN = 1 << 16
_KEEP = 1024  #: characters kept at each end of a cut run
_RUN = re.compile(r"[^\s\"'\\{}\[\],:#&*!|>%@`?-]{" + str(_LONG_RUN) + ",}")
_BIG = 1 << 20  #: documents this large are fed to libyaml in pieces, not as one copy


def _long_runs(text: str, start: int, end: int) -> Iterator[re.Match[str]]:
    """``_RUN``'s matches in ``text[start:end]``, searched only on lines that can hold one.

    ``re`` spends ~20 ns per position on ``_RUN``: 50 ms on a 2.6 MB manifest whose lines
    are all short. A run never crosses a line break, and a line of ``_LONG_RUN``
    characters covers a whole aligned block of half that length, so blocks holding a
    line break (one ``find`` each, over a few bytes) rule their lines out.
    """
    half = _LONG_RUN // 2
    block = -(-start // half) * half
    done = start  #: everything before this has been searched
    while block + half <= end:
        if text.find("\n", block, block + half) != -1:
            block += half
            continue
        first = max(text.rfind("\n", done, block) + 1, done)
        last = text.find("\n", block + half, end)
        last = end if last == -1 else last
        yield from _RUN.finditer(text, first, last)
        done = last
        block = -(-last // half) * half


class _Reader:
    """``text[start:end]`` handed to libyaml a piece at a time: no whole-document copy."""

    def __init__(self, text: str, start: int = 0, end: int | None = None) -> None:
        self.text = text
        self.pos = start
        self.end = len(text) if end is None else end

    def read(self, size: int) -> str:
        piece = self.text[self.pos : min(self.pos + size, self.end)]
        self.pos += len(piece)
        return piece


class _Masked:
    """One document's text with its huge runs cut short, and marks mapped back.

    libyaml buffers a scalar whole and PyYAML then copies it into a ``str``: one 100 MB
    line costs several times its size. Only the middle of a run that cannot hold an
    image is cut (its ends are kept, so the value still reads as what it is); the
    node marks are moved back to the original text, so every span and column is
    exactly what it would have been.
    """

    def __init__(self, text: str, start: int, end: int) -> None:
        self.original = text
        self.start = start
        self.end = end
        self.cuts: list[int] = []  #: masked positions where characters were removed
        self.shift: list[int] = []  #: characters removed up to and including each cut
        whole = text if (start, end) == (0, len(text)) else None
        if end - start < _LONG_RUN:
            self.text = whole if whole is not None else text[start:end]
            return
        pieces: list[str] = []
        at = start
        removed = 0
        for match in _long_runs(text, start, end):
            keep_to = match.start() + _KEEP
            pieces.append(text[at:keep_to])
            at = match.end() - _KEEP
            self.cuts.append(keep_to - start - removed)
            removed += at - keep_to
            self.shift.append(removed)
        if not self.cuts:
            self.text = whole if whole is not None else text[start:end]
            return
        pieces.append(text[at:end])
        self.text = "".join(pieces)

    def loader(self) -> NodeLoader:
        """libyaml reads a large text in pieces: PyYAML would copy a ``str`` to UTF-8 whole."""
        if len(self.text) < _BIG:
            return NodeLoader(self.text)
        return NodeLoader(_Reader(self.text))

    def _mark(self, mark: Any) -> Any:
        index = mark.index
        k = bisect.bisect_right(self.cuts, index)
        if k == 0:
            return mark
        index += self.shift[k - 1]
        absolute = self.start + index
        column = absolute - (self.original.rfind("\n", self.start, absolute) + 1)
        if column > absolute - self.start:
            column = absolute - self.start  # the document's first line
        return yaml.error.Mark(mark.name, index, mark.line, column, None, None)

    def fix(self, node: Node | None) -> Node | None:
        """Move every node's marks back to the original text (in place)."""
        if not self.cuts or node is None:
            return node
        stack, seen = [node], set()
        while stack:
            item = stack.pop()
            if id(item) in seen:
                continue
            seen.add(id(item))
            item.start_mark = self._mark(item.start_mark)
            item.end_mark = self._mark(item.end_mark)
            if isinstance(item, MappingNode):
                for key, value in item.value:
                    stack.extend((key, value))
            elif isinstance(item, SequenceNode):
                stack.extend(item.value)
        return node

    def fix_error(self, exc: yaml.YAMLError) -> yaml.YAMLError:
        if self.cuts:
            for name in ("problem_mark", "context_mark"):
                mark = getattr(exc, name, None)
                if mark is not None:
                    setattr(exc, name, self._mark(mark))
        return exc


# --- node access -----------------------------------------------------------------------


def get(node: Node | None, key: str) -> Node | None:
    """Mapping lookup by string key; the last duplicate wins; ``<<`` merges are honoured."""
    if not isinstance(node, MappingNode):
        return None
    found: Node | None = None
    merges: list[Node] | None = None
    for k, v in node.value:
        if k.value == key and isinstance(k, ScalarNode):
            found = v
        elif k.value == "<<" and tag_of(k) == MERGE:
            merges = merges or []
            merges.append(v)
    if found is not None or merges is None:
        return found
    for merged in merges:
        sources = merged.value if isinstance(merged, SequenceNode) else [merged]
        for source in sources:
            hit = get(source, key)
            if hit is not None:
                return hit
    return None


def text_of(node: Node | None) -> str | None:
    """The value of a string scalar (implicit or ``!!str``), else None."""
    if isinstance(node, ScalarNode) and tag_of(node) == STR:
        return node.value
    return None


def scalar_text(node: Node | None) -> str | None:
    """The text of any scalar, whatever its type (names may be numbers)."""
    return node.value if isinstance(node, ScalarNode) else None


def display_text(node: Node | None) -> str | None:
    """A string's value; any other value as a policy engine prints it (``3``, ``null``)."""
    if node is None:
        return None
    if isinstance(node, ScalarNode) and tag_of(node) == STR:
        return node.value
    from imgdigest.rego import format_value

    return format_value(construct(node))


class NodeAdapter:
    """``imgdigest.kubernetes.TreeAdapter`` over libyaml nodes."""

    def get(self, node: Node, key: str) -> Node | None:
        return get(node, key)

    def entries(self, node: Node) -> Iterator[tuple[PathSegment, Node]]:
        if isinstance(node, SequenceNode):
            yield from enumerate(node.value)
        elif isinstance(node, MappingNode):
            for k, v in node.value:
                yield (k.value if isinstance(k, ScalarNode) else str(k.value)), v

    def items(self, node: Node) -> Iterator[tuple[int, Node]]:
        if isinstance(node, SequenceNode):
            yield from enumerate(node.value)

    def text(self, node: Node | None) -> str | None:
        return text_of(node)


NODES = NodeAdapter()


def value_type(node: Node) -> str:
    """``str``, ``int``, ``float``, ``bool``, ``null``, ``seq`` or ``map``."""
    if isinstance(node, SequenceNode):
        return "seq"
    if isinstance(node, MappingNode):
        return "map"
    return _TYPE_OF_TAG.get(tag_of(node), "str")


def construct(node: Node) -> Any:
    """The Python value of one node, built the Kubernetes way (for the rare non-string)."""
    loader = KubeLoader("")
    try:
        return loader.construct_document(resolve_tags(node))
    finally:
        loader.dispose()


def scalar_span(node: ScalarNode, doc: Document, full: str) -> Scalar:
    """The value's span in the file text: quotes, anchors and tags excluded."""
    offset = doc.offset
    s = node.start_mark.index + offset
    e = node.end_mark.index + offset
    quoting = _STYLES.get(node.style, "plain")
    value = node.value
    if quoting == "plain":
        if full.startswith(value, e - len(value)) and (e - len(value) >= s):
            start = e - len(value)
        else:
            start = _skip_properties(full, s, e)
        end = e
    elif quoting in ("single", "double"):
        quote = "'" if quoting == "single" else '"'
        start = full.find(quote, s, e) + 1 if full[s] != quote else s + 1
        end = e - 1
    else:
        start = _skip_properties(full, s, e)
        end = e
    line = node.start_mark.line + doc.line
    column = node.start_mark.column
    if start != s:
        newlines = full.count("\n", s, start)
        if newlines:
            line += newlines
            column = start - full.rfind("\n", 0, start) - 1
        else:
            column += start - s
    return Scalar(value, start, end, line + 1, column + 1, quoting, full[start:end])


def _skip_properties(full: str, s: int, e: int) -> int:
    i = s
    while i < e and full[i] in "&!":
        while i < e and not full[i].isspace():
            i += 1
        while i < e and full[i].isspace():
            i += 1
    return i
