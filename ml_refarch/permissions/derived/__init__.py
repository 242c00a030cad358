"""The derivers of :mod:`ml_refarch.permissions.derive`, one module per service family.

Each module registers its derivers with ``@derives("AWS::Type")``; every module of this
package is imported, so a new family needs only a new module here.
"""
