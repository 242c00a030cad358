"""Rewrite ml_refarch/data/framework-images.json from the installed sagemaker SDK.

Run after changing ``IMAGES_USED`` in ``ml_refarch/constructs/images.py`` or upgrading the
SDK (a test fails while the file and the SDK disagree):

    .venv/bin/python scripts/update_images.py
"""

from __future__ import annotations

import json
import sys

from ml_refarch.constructs.images import IMAGES_FILE, sdk_table


def main() -> int:
    IMAGES_FILE.write_text(json.dumps(sdk_table(), indent=1, sort_keys=True) + "\n")
    print(f"wrote {IMAGES_FILE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
