"""The one-command local stack: the SPA, the function behind a function URL emulator, moto and a fake provider."""

import sys
from pathlib import Path

_PACKAGE_DIR = str(Path(__file__).resolve().parent.parent / "infra")
if _PACKAGE_DIR not in sys.path:
    sys.path.insert(0, _PACKAGE_DIR)  # the oauth_exchange package of this checkout, which the local stack shares
