"""``python -m imgdigest`` runs the command line."""

import sys

from imgdigest.cli.main import main

sys.exit(main())
