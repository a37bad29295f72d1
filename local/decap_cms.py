"""``python3 -m local.decap_cms``: install Decap CMS's bundle, as ``scripts/lib.sh`` does (``local.cms_bundles``)."""

from __future__ import annotations

import sys

from local.cms_bundles import main

if __name__ == "__main__":
    sys.exit(main(["decap"]))
