"""Jinja2 templates of the generated module (layout only; per-primitive text is in the registry)."""
