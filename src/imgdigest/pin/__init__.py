"""Pinning: rewrite image references in files from tags to digests, changing nothing else.

The work is split the way a careful formatter splits it:

1. **Find** - ``imgdigest.documents`` gives every image scalar with its exact character
   span and quoting. A site whose text is not the image itself (escapes, folded
   scalars, non-strings) is left alone with a note rather than guessed at.
2. **Plan** - each site becomes a target: *pin* (no digest yet) or, with ``update``,
   *update* (re-resolve the tag of an existing pin). Identical targets are resolved
   once: from a lock file first, then - unless offline - through one resolver, so a
   batch shares tokens, connections and in-flight requests.
3. **Edit** - each span is replaced by the same text with ``@digest`` attached, inside
   the quotes it already had; the rest of the file is copied through, so comments,
   CRLF, indentation and key order cannot change. Each edit is then proven to change
   only its value: by its characters alone where YAML cannot read them otherwise, else
   by scanning the edited text again, which must yield the same sites with exactly the
   expected images where the edits moved them; otherwise the file is refused (an edit
   must never change a document's structure).
4. **Write** - only if nothing failed (or ``partial``), all files at once through
   ``imgdigest.files.replace_files``.

Kustomize is special: it ignores ``newTag`` when ``digest`` is set, so a pin is written
as ``newTag: TAG@DIGEST`` (the tag stays readable and the digest is what is deployed);
an entry that already has ``digest:`` gets that value updated.

Updating keeps the kind of pin found: an index digest is refreshed to the tag's new
index digest, a platform manifest digest to the new digest of the same platform (read
from the old manifest's config), so a per-architecture pin never silently becomes a
multi-arch one or the reverse.

The modules follow the steps: ``plan`` holds the model (options, targets, changes,
failures, the per-file and whole plan, which writes itself), ``targets`` turns a site
into what it asks for and the text that answers it, ``digests`` answers targets (lock,
then registry; ``drift`` shares it), and ``planner`` runs find, plan and verify.
``chart`` pins a Helm chart where it renders: ``helm template``, trace each image to the
values entries it comes from, pin those, render again to prove it.
"""

from __future__ import annotations

from imgdigest.pin.chart import ChartPlan, RenderedImage, check_chart, pin_chart, plan_chart
from imgdigest.pin.digests import Answer, DigestSource
from imgdigest.pin.plan import (
    DEFAULT_PIN,
    Change,
    Failure,
    FilePlan,
    Mode,
    PinOptions,
    PinPlan,
    Progress,
    Target,
)
from imgdigest.pin.planner import pin_text_document, plan_paths, plan_scans, run_offline
from imgdigest.pin.targets import pinned_state

__all__ = [
    "DEFAULT_PIN",
    "Answer",
    "Change",
    "ChartPlan",
    "DigestSource",
    "Failure",
    "FilePlan",
    "Mode",
    "PinOptions",
    "PinPlan",
    "Progress",
    "RenderedImage",
    "Target",
    "check_chart",
    "pin_chart",
    "pin_text_document",
    "pinned_state",
    "plan_chart",
    "plan_paths",
    "plan_scans",
    "run_offline",
]
