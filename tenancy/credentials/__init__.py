"""Provider credentials per namespace: write-only, encrypted at rest, with environment fallback."""
