"""The admin dashboard at /dashboard: API keys, namespaces (credentials, plugins, cache, limits) and usage,
for the members of an organization (admins change things; members read)."""
