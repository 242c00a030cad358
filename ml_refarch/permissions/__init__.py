"""Runtime permissions, proven offline: who calls what when a pattern runs, and whether the
synthesized policies let them.

- :mod:`.policy`: evaluates one policy for one request (wildcards, ``NotAction`` /
  ``NotResource``, conditions; unresolved condition keys reported, not guessed);
- :mod:`.values`: stand-in values for a template's references;
- :mod:`.model`: every policy of a template that decides a request (identity policies,
  boundaries, key, bucket, topic and queue policies, Lambda permissions) and the decision;
- :mod:`.scenarios`: scenarios and the ``scenarios.toml`` format of pattern units;
- :mod:`.derive` and :mod:`.derived`: scenarios read off the template, per resource type;
- :mod:`.run`: ``python -m ml_refarch permissions``: evaluation and report.
"""
