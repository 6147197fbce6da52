"""``imgdigest files``: the paths in a layer, or in every layer in order, streamed."""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from typing import TextIO

from imgdigest.cli._common import nonblank
from imgdigest.cli._explore import REF_HELP, add_common, note_selection, session
from imgdigest.layerfiles import FileEntry


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "files",
        description="List the paths in one layer (--layer N or DIGEST) or in all layers in "
        "order, as `tar --list` would, streaming each layer from its source in constant "
        "memory and verifying it. Whiteouts are shown as deletions. Paths are printed as "
        "they are read, before the layer's digest is known to match (a mismatch is reported "
        "after them, exit 6); --hold prints nothing until every layer listed is verified.",
    )
    p.add_argument("ref", metavar="REF", help=REF_HELP)
    p.add_argument(
        "--layer",
        type=nonblank("a layer index or digest"),
        metavar="N|DIGEST",
        help="only this layer (index or digest)",
    )
    p.add_argument("-l", "--long", action="store_true", help="type, mode and size per path")
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.add_argument(
        "--hold",
        action="store_true",
        help="keep the listing in a temporary file until every layer is verified",
    )
    p.add_argument("-q", "--quiet", action="store_true", help="no notes on stderr")
    add_common(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if not args.hold:
        return _list(args, sys.stdout)
    with tempfile.SpooledTemporaryFile(max_size=1 << 20, mode="w+", encoding="utf-8") as held:
        code = _list(args, held)  # type: ignore[arg-type]
        held.seek(0)
        shutil.copyfileobj(held, sys.stdout)  # type: ignore[misc]
    return code


def _list(args: argparse.Namespace, out: TextIO) -> int:
    with session(args) as client:
        found = client.files(args.ref, args.platform, args.layer)
        note_selection(args, args.ref, found.image)
        # every chosen layer gets its header, an empty one too
        headers = list(found.image.layers)
        if args.format != "text" or (len(headers) == 1 and not args.long):
            headers = []
        for item in found:
            while headers and headers[0].index <= item.layer:
                layer = headers.pop(0)
                print(f"# layer {layer.index} {layer.descriptor.digest}", file=out)
            if args.format == "json":
                print(json.dumps(item.to_json()), file=out)
            else:
                print(_text(item.entry, args.long), file=out)
        for layer in headers:
            print(f"# layer {layer.index} {layer.descriptor.digest}", file=out)
    return 0


def _text(e: FileEntry, long: bool) -> str:
    if e.type == "whiteout":
        shown = f"{e.deletes}  [deleted]"
    elif e.type == "opaque":
        shown = f"{e.deletes}  [opaque: lower layers' contents hidden]"
    elif e.type == "symlink":
        shown = f"{e.listed} -> {e.link}"
    elif e.type == "hardlink":
        shown = f"{e.listed} link to {e.link}"
    else:
        shown = e.listed
    if not long:
        return shown
    return f"{e.type:<8} {e.mode:04o} {e.size:>12}  {shown}"
