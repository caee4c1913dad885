"""Custom Checkov checks ``CKV_SAHAB_<n>``, one class per file named after it.

Checkov loads this folder with ``--external-checks-dir`` (the folder needs this ``__init__.py``,
or Checkov silently loads nothing). Shared rules live in ``sahab_policy.py``.
"""
