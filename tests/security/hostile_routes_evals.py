"""Routes of the hostile-value matrix (tests/security/test_hostile_values.py) for one part of the API, kept in a file
of their own so that the part's author adds them without touching the matrix."""

# Each a dict of Route's keyword arguments (tests/security/test_hostile_values.py: Route), e.g.
# {"method": "GET", "path": "/v1/namespaces/{namespace}/things", "path_params": {"namespace": "main"}}.
NS = {"namespace": "main"}
RUN = {**NS, "run": "ev_0123456789abcdef"}
ROUTES: list[dict] = [
    {"method": "POST", "path": "/v1/namespaces/{namespace}/datasets",
     "body": {"name": "d2", "format": "csv", "content": "topic,expected\nhi,hi\n"}, "path_params": NS},
    {"method": "GET", "path": "/v1/namespaces/{namespace}/datasets", "path_params": NS},
    {"method": "GET", "path": "/v1/namespaces/{namespace}/datasets/{dataset}", "path_params": {**NS, "dataset": "d1"}},
    {"method": "DELETE", "path": "/v1/namespaces/{namespace}/datasets/{dataset}",
     "path_params": {**NS, "dataset": "d1"}},
    {"method": "POST", "path": "/v1/namespaces/{namespace}/evals",
     "body": {"dataset": "d1", "name": "n", "prompts": [{"prompt": "summary", "version": 1}],
              "targets": ["test/echo"], "parameters": {"max_tokens": 8},
              "scorers": [{"type": "regex", "pattern": "a+"}, {"type": "json_schema", "schema": {"type": "object"}}]},
     "path_params": NS},
    {"method": "GET", "path": "/v1/namespaces/{namespace}/evals", "path_params": NS},
    {"method": "GET", "path": "/v1/namespaces/{namespace}/evals/compare", "query": ("a", "b"), "path_params": NS},
    {"method": "GET", "path": "/v1/namespaces/{namespace}/evals/{run}", "path_params": RUN},
    {"method": "POST", "path": "/v1/namespaces/{namespace}/evals/{run}/cancel", "path_params": RUN},
    {"method": "GET", "path": "/v1/namespaces/{namespace}/evals/{run}/cells", "query": ("offset",), "path_params": RUN},
    {"method": "GET", "path": "/v1/namespaces/{namespace}/evals/{run}/export.csv", "path_params": RUN},
]
