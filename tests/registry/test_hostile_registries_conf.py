"""A registries.conf that is broken or hostile: one line naming file, entry and field, exit 2.

Each file is written to the test's directory and read by the real command in-process;
the configuration is read before any registry is contacted, so no registry is needed.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from imgdigest.cli.main import main
from imgdigest.errors import ConfigError
from imgdigest.registry.mirrors import Mirrors

GOOD = '[[registry]]\nprefix = "a.io"\nlocation = "a.io"\n\n'


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"\x7fELF\x02\x01\x01\x00\x00", ": registries configuration is a binary file, not text"),
        (
            b'# caf\xe9\n[[registry]]\nprefix = "a.io"\n',
            ":1: registries configuration is not UTF-8",
        ),
        (b"x = " + b"[" * 5000 + b"]" * 5000, ": not valid TOML: nested too deeply"),
        (b"x = " + b"{a = " * 5000 + b"1" + b"}" * 5000, ": not valid TOML: nested too deeply"),
        (
            b"[[registry]\n",
            ":1: not valid TOML: Expected ']]' at the end of an array declaration (column 11)",
        ),
        (
            (GOOD + "[[registry]]\nprefix = 5\n").encode(),
            ":5: registry[2].prefix: expected a string, got integer",
        ),
        (
            (GOOD + '[[registry]]\nprefix = "b.io"\nblocked = "yes"\n').encode(),
            ":5: registry[2].blocked: expected a boolean (true or false), got string",
        ),
        (
            b'[[registry]]\nprefix = "a.io"\ninsecure = 1\n',
            ":1: registry[1].insecure: expected a boolean (true or false), got integer",
        ),
        (
            b'[[registry]]\nprefix = "a.io"\nlocation = "::::"\n',
            ":1: registry[1].location: '::::' is not host[:port][/path]",
        ),
        (
            b'[[registry]]\nprefix = "a.io"\nlocation = "me:s3cret@a.io"\n',
            ":1: registry[1].location: '…@a.io' is not host[:port][/path]",
        ),
        (
            b'[[registry]]\nlocation = "Mirror.io/UPPER"\n',
            ":1: registry[1].location: 'Mirror.io/UPPER' is not host[:port][/path]",
        ),
        (
            b'[[registry]]\nprefix = "a.io:99999"\n',
            ":1: registry[1].prefix: 'a.io:99999' is not host[:port][/path]",
        ),
        (
            b'[[registry]]\nprefix = "a.io/app:1.0"\n',
            ":1: registry[1].prefix: 'a.io/app:1.0': prefixes with a tag or digest are not",
        ),
        (
            b'[[registry]]\nprefix = "*.a.io/x"\n',
            ":1: registry[1].prefix: '*.a.io/x' is not *.domain",
        ),
        (
            b'[registry]\nprefix = "a.io"\n',
            ": registry: expected an array of tables ([[registry]]), got table",
        ),
        (b'registry = "a.io"\n', ": registry: expected an array of tables ([[registry]]), got"),
        (b"registry = [1]\n", ": registry[1]: expected a table, got integer"),
        (
            b'[[registry]]\nprefix = "a.io"\nmirror = "x"\n',
            ":1: registry[1].mirror: expected an array of tables ([[registry.mirror]]), got string",
        ),
        (
            b'[[registry]]\nprefix = "a.io"\nmirror = ["m.io"]\n',
            ":1: registry[1].mirror[1]: expected a table, got string",
        ),
        (
            (
                GOOD + '[[registry]]\nprefix = "b.io"\n[[registry.mirror]]\nlocation = "m.io"\n'
                '[[registry.mirror]]\nlocation = "m.io:0/x"\n'
            ).encode(),
            ":9: registry[2].mirror[2].location: 'm.io:0/x' is not host[:port][/path]",
        ),
        (
            b'[[registry]]\nprefix = "a.io"\n[[registry.mirror]]\ninsecure = true\n',
            ":3: registry[1].mirror[1]: needs a location",
        ),
        (
            b'[[registry]]\nprefix = "a.io"\n[[registry.mirror]]\nlocation = "m.io"\n'
            b'pull-from-mirror = "sometimes"\n',
            ":3: registry[1].mirror[1].pull-from-mirror: 'sometimes' is not one of all, "
            "digest-only, tag-only",
        ),
        (
            b'[[registry]]\nprefix = "a.io"\nmirror-by-digest-only = "true"\n',
            ":1: registry[1].mirror-by-digest-only: expected a boolean (true or false), got string",
        ),
        (b"[[registry]]\ninsecure = true\n", ":1: registry[1]: needs a prefix or a location"),
    ],
)
def test_bad_registries_conf_is_one_exit_2_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes, problem: str
) -> None:
    conf = tmp_path / "registries.conf"
    conf.write_bytes(content)
    code = main(["digest", "--registries-conf", str(conf), "a.io/app:1"])
    out, err = capsys.readouterr()
    assert (code, out) == (ConfigError.exit_code, "")
    assert err.startswith(f"imgdigest: error: {conf}{problem}"), err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_oversized_registries_conf_is_refused_unread(tmp_path: Path) -> None:
    conf = tmp_path / "registries.conf"
    with conf.open("wb") as f:
        f.truncate(17 * 1024 * 1024)  # sparse: 17 MiB of zeros cost no disk
    with pytest.raises(ConfigError) as info:
        Mirrors.load(conf)
    assert str(info.value) == f"{conf}: registries configuration is larger than 16 MiB"


def test_missing_and_unreadable_registries_conf(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        Mirrors.load(tmp_path / "nope.conf")
    assert str(info.value) == f"{tmp_path / 'nope.conf'}: registries configuration not found"
    with pytest.raises(ConfigError) as info:
        Mirrors.load(tmp_path)
    assert str(info.value) == f"{tmp_path}: cannot read registries configuration: Is a directory"


def test_valid_shapes_are_accepted(tmp_path: Path) -> None:
    conf = tmp_path / "registries.conf"
    conf.write_text(
        'unqualified-search-registries = ["docker.io"]\n'
        '[[registry]]\nprefix = "*.corp.example"\n'
        '[[registry.mirror]]\nlocation = "[::1]:5000/corp/"\n'
        '[[registry]]\nprefix = "registry.k8s.io/pause"\nlocation = "localhost:5000/k8s/pause"\n'
        "mirror-by-digest-only = true\n"
        'mirror = [{location = "m.local/k8s/pause", insecure = true}]\n'
    )
    m = Mirrors.load(conf)
    assert [e.name for e in m.endpoints("x.corp.example/app", by_digest=False)] == [
        "[::1]:5000/corp/app",
        "x.corp.example/app",
    ]
    # mirror-by-digest-only: the mirror serves digests only, tags go to the location.
    assert [e.name for e in m.endpoints("registry.k8s.io/pause", by_digest=False)] == [
        "localhost:5000/k8s/pause"
    ]
    assert [e.name for e in m.endpoints("registry.k8s.io/pause", by_digest=True)] == [
        "m.local/k8s/pause",
        "localhost:5000/k8s/pause",
    ]
