#!/usr/bin/env python3
"""CDK entry point: wiring only. See ml_refarch/app.py and ml_refarch/config.py."""

import sys

from ml_refarch.config import ConfigError

try:
    from ml_refarch.app import build_app

    build_app().synth()
except ConfigError as error:
    print(error, file=sys.stderr)
    sys.exit(2)
