"""imgdigest: find, explore, pin and enforce container image digests.

The public API is re-exported here; submodules may move, these names will not.
"""

from __future__ import annotations

__version__ = "0.1.0"
