"""From an image site to a target: what it asks for, and the text that answers it.

Whether a site is pinned, and to which tag, is ``imgdigest.pinned``'s strict parse;
here it is applied to a site (a kustomize entry or a Helm values map key by key), and the
new text keeps the spelling and quoting the file already had. A Helm map's pin goes where
its chart reads it: the digest key when the map has one, else ``tag: TAG@DIGEST``
(Renovate's convention; the tag stays readable and the chart renders both).
"""

from __future__ import annotations

from functools import lru_cache

from imgdigest import reference as references
from imgdigest.documents import HelmImage, ImageSite, KustomizeImage, Note, Scalar
from imgdigest.pin.plan import Mode, PinOptions, Target
from imgdigest.pinned import kustomize_state, reference_state
from imgdigest.reference import Reference, pin_text


def pinned_state(site: ImageSite) -> tuple[Reference | None, str | None]:
    """The normalized ``name:tag`` a site names (None without a tag) and its pinned digest.

    For a kustomize entry the tag is ``newTag`` (before any ``@``) even when ``digest`` is
    set and kustomize ignores it: it still says which tag the pin was taken from.
    """
    detail = site.detail
    if isinstance(detail, KustomizeImage):
        name = detail.new_name or detail.name
        return kustomize_state(
            name.value if name is not None else None,
            detail.new_tag.value if detail.new_tag is not None else None,
            detail.digest.value if detail.digest is not None else None,
        )
    if isinstance(detail, HelmImage):
        return kustomize_state(
            detail.name,
            detail.tag.value if detail.tag is not None else None,
            (detail.digest.value if detail.digest is not None else None) or None,
        )
    return _image_state(site.image)


@lru_cache(maxsize=4096)
def _image_state(image: str) -> tuple[Reference | None, str | None]:
    """``reference_state``, remembered: a tree names a few images thousands of times, and
    a ``Reference`` is immutable, so every site naming one can share its parse."""
    return reference_state(image)


@lru_cache(maxsize=4096)
def _normalized(image: str) -> Reference:
    return references.normalize(image)


def _kustomize_target(
    site: ImageSite, detail: KustomizeImage, update: bool
) -> Target | Note | None:
    tagged, current = pinned_state(site)
    if current is not None and not update:
        return None
    if tagged is None:
        if current is not None:
            return site_note(site, "pinned without a tag, nothing to update from")
        return None
    edited = detail.digest if detail.digest is not None else detail.new_tag
    assert edited is not None
    if not edited.exact:
        return Note(site.file, edited.line, f"{site.image}: value written with escapes left alone")
    return _value_target(site, tagged, current, edited)


def _helm_target(site: ImageSite, detail: HelmImage, update: bool) -> Target | Note | None:
    tagged, current = pinned_state(site)
    if current is not None and not update:
        return None
    if tagged is None:
        return site_note(site, "pinned without a tag, nothing to update from")
    edited = detail.digest if detail.digest is not None else detail.tag
    assert edited is not None
    if edited is detail.tag and not edited.exact:
        return Note(site.file, edited.line, f"{site.image}: value written with escapes left alone")
    return _value_target(site, tagged, current, edited)


def _value_target(
    site: ImageSite, tagged: Reference, current: str | None, edited: Scalar
) -> Target:
    """A target that edits one scalar of a multi-key image (kustomize, Helm values)."""
    mode: Mode = "update" if current else "pin"
    return Target(
        site,
        mode,
        tagged,
        current,
        edited.start,
        edited.end,
        edited.raw,
        edited.line,
        edited.column,
    )


def site_target(site: ImageSite, options: PinOptions) -> Target | Note | None:
    """The target for a site; a note when it is left alone on purpose; None if done."""
    if isinstance(site.detail, KustomizeImage):
        return _kustomize_target(site, site.detail, options.update)
    if isinstance(site.detail, HelmImage):
        return _helm_target(site, site.detail, options.update)
    if not site.exact:
        if site.value_type != "str":
            return site_note(site, f"a {site.value_type}, not a string; left alone")
        return site_note(site, "value written with escapes or line folding left alone")
    tagged, current = pinned_state(site)
    if current is not None and not options.update:
        return None
    if tagged is None:
        if current is not None:
            return site_note(site, "pinned without a tag, nothing to update from")
        tagged = _normalized(site.image)
    mode: Mode = "update" if current else "pin"
    return Target(site, mode, tagged, current, site.start, site.end, site.raw)


def site_note(site: ImageSite, message: str) -> Note:
    return Note(site.file, site.line, f"{site.image}: {message}")


def rewritten(target: Target, digest: str, keep_tag: bool) -> str:
    if isinstance(target.site.detail, KustomizeImage):
        if target.site.detail.digest is not None:
            return digest
        return f"{target.raw.partition('@')[0]}@{digest}"
    if isinstance(target.site.detail, HelmImage):
        into = target.site.detail.digest
        if into is None:
            return f"{target.raw.partition('@')[0]}@{digest}"
        # ``digest:`` with no value: the new one needs the space YAML wants after a key
        return f" {digest}" if into.quoting == "plain" and not into.raw else digest
    return pin_text(target.raw, digest, keep_tag)


def expected_image(site: ImageSite, target: Target, digest: str, keep_tag: bool) -> str:
    """What the finder must read at this site once the edit is made."""
    detail = site.detail
    if isinstance(detail, KustomizeImage):
        name = (detail.new_name or detail.name).value  # type: ignore[union-attr]
        if detail.digest is not None:
            return f"{name}@{digest}"
        return f"{name}:{target.raw.partition('@')[0]}@{digest}"
    if isinstance(detail, HelmImage):
        if detail.digest is not None:
            return f"{detail.name}@{digest}"
        return f"{detail.name}:{target.raw.partition('@')[0]}@{digest}"
    return pin_text(site.image, digest, keep_tag)
