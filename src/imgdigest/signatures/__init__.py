"""cosign signatures and in-toto attestations of digests: keys, payloads, storage, verdicts.

``keys`` reads and writes cosign's key formats, ``payload`` its simple-signing documents,
``dsse`` the envelopes attestations travel in, ``storage`` the ``.sig``/``.att`` tags, and
``verify`` the jobs over them (verify, sign); ``cache`` remembers verdicts by digest.
"""

from __future__ import annotations

from imgdigest.signatures.keys import KeyPair
from imgdigest.signatures.verify import SignatureCheck, SignResult, VerifyReport

__all__ = ["KeyPair", "SignResult", "SignatureCheck", "VerifyReport"]
