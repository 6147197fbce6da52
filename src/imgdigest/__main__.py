"""``python -m imgdigest`` runs the command line (``entry`` handles Ctrl-C from its first line)."""

from imgdigest.cli.main import entry

entry()
