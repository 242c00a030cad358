"""The deploy rehearsal: every stack deployed to moto, a local stand-in for AWS.

- :mod:`~ml_refarch.rehearsal.server`: moto's server with narrow, documented fixes to its
  CloudFormation (``python -m ml_refarch.rehearsal.server``);
- :mod:`~ml_refarch.rehearsal.stand_in`: starts and stops that server as a child process,
  and boto3 clients for it;
- :mod:`~ml_refarch.rehearsal.deploy`: publishes a cloud assembly's assets, creates its
  stacks, and sorts every resource into verified, created-not-verified, skipped (moto does
  not model the type) and missing;
- :mod:`~ml_refarch.rehearsal.checks`: existence checks registered per resource type
  (``@existence_check``), and which types moto skips;
- :mod:`~ml_refarch.rehearsal.run`: ``python -m ml_refarch rehearse [--cdk-cli]`` and
  ``make deploy-local``;
- :mod:`~ml_refarch.rehearsal.updates`: update safety, offline: whether one template of a
  stack can replace what another created (no fixed name on a resource whose create-only
  properties change).

Templates for the rehearsal come from ``-c target=local`` (see ``Profile.custom_resources``).
"""
