"""Routes of the hostile-value matrix (tests/security/test_hostile_values.py) for one part of the API, kept in a file
of their own so that the part's author adds them without touching the matrix."""

# Each a dict of Route's keyword arguments (tests/security/test_hostile_values.py: Route), e.g.
# {"method": "GET", "path": "/v1/namespaces/{namespace}/things", "path_params": {"namespace": "main"}}.
# The workbench's prompt JSON (playground/web/workbench/prompts.py), for a signed-in admin of the namespace.
VERSION = {"system": "Be {{tone}}.", "messages": [{"role": "user", "content": "hi"}], "target": "test/echo",
           "parameters": {"temperature": 0}, "note": "n"}

ROUTES: list[dict] = [
    {"method": "POST", "path": "/playground/prompts/{namespace}/data", "body": {"name": "p2", **VERSION},
     "path_params": {"namespace": "main"}, "session": True},
    {"method": "GET", "path": "/playground/prompts/{namespace}/data", "path_params": {"namespace": "main"},
     "session": True},
    {"method": "POST", "path": "/playground/prompts/{namespace}/{prompt}/versions", "body": VERSION,
     "path_params": {"namespace": "main", "prompt": "summary"}, "session": True},
    {"method": "GET", "path": "/playground/prompts/{namespace}/{prompt}/versions/{version}", "query": ("label",),
     "path_params": {"namespace": "main", "prompt": "summary", "version": "latest"}, "session": True},
]
