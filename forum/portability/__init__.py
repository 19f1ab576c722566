"""Moving a whole site: `manage.py export_site FILE` and `manage.py import_site FILE`.

The file format is documented in docs/export-format.md and defined in format.py.
"""
