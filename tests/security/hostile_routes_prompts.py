"""Routes of the hostile-value matrix (tests/security/test_hostile_values.py) for one part of the API, kept in a file
of their own so that the part's author adds them without touching the matrix."""

# Each a dict of Route's keyword arguments (tests/security/test_hostile_values.py: Route), e.g.
# {"method": "GET", "path": "/v1/namespaces/{namespace}/things", "path_params": {"namespace": "main"}}.
ROUTES: list[dict] = []
