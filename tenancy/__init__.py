"""Who may call, and as what: organizations, namespaces and their settings, API keys and the principal they
resolve to, rate limits and budgets, provider credentials. It imports nothing of the inference service."""
