"""The built-in model families, one module each (named after the family).

Each module defines its network and a :class:`~coffea_anomaly.training.family.ModelFamily`
subclass decorated with :func:`~coffea_anomaly.training.family.register_family`; the
registry imports every public module here on its first lookup. Modules whose name starts
with ``_`` hold pieces several families share.

Adding a family: one module here plus its config in ``configs/training/``; nothing else.
"""
