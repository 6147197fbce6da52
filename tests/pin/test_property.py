"""Property: pinning generated manifests touches only image scalars, and is idempotent.

Manifests are generated with what breaks naive rewriters: comments everywhere, plain,
single- and double-quoted images, anchors and aliases, CRLF or LF, trailing
whitespace, block and flow lists, several documents, and image-looking strings in
places that are not images (args, env values, annotations) which must stay as they are.
"""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from imgdigest.documents import scan_text
from imgdigest.lock import Lock, LockEntry
from imgdigest.pin import PinOptions, pin_text_document
from imgdigest.reference import normalize, pin_text

from .helpers import DIGEST_RE, fake_digest

REGISTRIES = ("", "ghcr.io/", "registry.example.com:5000/", "localhost/", "docker.io/library/")
KINDS = ("Pod", "Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob", "ReplicaSet")

refs = st.builds(
    lambda reg, name, tag: f"{reg}img{name}{tag}",
    st.sampled_from(REGISTRIES),
    st.from_regex(r"[a-z0-9]{1,5}(/[a-z][a-z0-9]{0,4})?", fullmatch=True),
    st.one_of(st.just(""), st.from_regex(r":[A-Za-z0-9_][A-Za-z0-9_.-]{0,8}", fullmatch=True)),
)
comments = st.one_of(
    st.just(""),
    st.text(
        st.characters(codec="utf-8", exclude_categories=("Cc", "Cs", "Zl", "Zp")), max_size=12
    ).map(lambda t: f"  # {t}"),
)
quotes = st.sampled_from(["plain", "single", "double"])


def quoted(ref: str, style: str) -> str:
    return {"plain": ref, "single": f"'{ref}'", "double": f'"{ref}"'}[style]


@dataclass
class Container:
    ref: str
    style: str
    comment: str
    flow: bool
    alias: bool  # refer to the first container's image by alias instead


containers = st.builds(Container, refs, quotes, comments, st.booleans(), st.booleans())


@st.composite
def documents(draw: st.DrawFn) -> tuple[str, list[str]]:
    """One manifest's text (LF) and the images its containers run, in order."""
    kind = draw(st.sampled_from(KINDS))
    items = draw(st.lists(containers, min_size=1, max_size=4))
    indent = draw(st.sampled_from(["", "  "]))  # "- " at the key's level, or indented
    decoy = draw(refs)
    head = {
        "Pod": ("spec", 0),
        "CronJob": ("spec:\n  jobTemplate:\n    spec:\n      template:\n        spec", 8),
    }.get(kind, ("spec:\n  template:\n    spec", 4))
    pad = " " * (head[1] + 2)
    lines = [
        draw(comments).strip() or "# generated",
        "apiVersion: v1",
        f"kind: {kind}",
        "metadata:",
        "  name: x",
        f"  annotations: {{note: '{decoy}'}}",
        f"{head[0]}:",
        f"{pad}containers:{draw(comments)}",
    ]
    images: list[str] = []
    first = items[0]
    for i, c in enumerate(items):
        alias = c.alias and i > 0
        value = "*img" if alias else (("&img " if i == 0 else "") + quoted(c.ref, c.style))
        image = first.ref if alias else c.ref
        images.append(image)
        if c.flow and i != 0:
            lines.append(
                f"{pad}{indent}- {{name: c{i}, image: {value}, args: ['{decoy}']}}{c.comment}"
            )
            continue
        lines.append(f"{pad}{indent}- name: c{i}{c.comment}")
        lines.append(f"{pad}{indent}  image: {value}{c.comment}")
        lines.append(f'{pad}{indent}  args: ["--image={decoy}", {quoted(decoy, c.style)}]')
        lines.append(f"{pad}{indent}  env:")
        lines.append(f"{pad}{indent}  - {{name: IMAGE, value: {quoted(decoy, 'double')}}}")
    return "\n".join(lines) + "\n", images


@st.composite
def files(draw: st.DrawFn) -> tuple[str, list[str]]:
    docs = draw(st.lists(documents(), min_size=1, max_size=3))
    newline = draw(st.sampled_from(["\n", "\r\n"]))
    trailing = draw(st.sampled_from(["", " ", "\t "]))
    text = "---\n".join(d for d, _ in docs)
    text = text.replace("\n", trailing + newline)
    return text, [i for _, images in docs for i in images]


def lock_for(images: list[str]) -> Lock:
    return Lock(
        LockEntry(str(normalize(i).without_digest()), fake_digest(str(normalize(i))))
        for i in images
    )


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(files())
def test_pin_changes_only_image_scalars_and_pinning_twice_changes_nothing(generated):
    text, images = generated
    assert [s.image for s in scan_text(text, "gen.yaml").sites] == images  # the oracle agrees
    options = PinOptions(lock=lock_for(images), offline=True)
    plan = pin_text_document(text, "gen.yaml", options)
    assert plan.failures == [] and plan.errors == []
    new = plan.files[0].new_text
    assert new is not None
    # Outside image scalars not one character changed: removing the digests gives the input.
    assert DIGEST_RE.sub("", new) == text
    # Every image reads back pinned, and nothing else gained a digest (decoys, aliases).
    want = [pin_text(i, fake_digest(str(normalize(i)))) for i in images]
    assert [s.image for s in scan_text(new, "gen.yaml").sites] == want
    assert len(DIGEST_RE.findall(new)) == len({c.start for c in plan.changes})
    again = pin_text_document(new, "gen.yaml", options)
    assert again.changes == [] and again.files[0].new_text == new
