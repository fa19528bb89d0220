"""The browser playground served at /playground (a workbench for prompts: compose, stream, compare, history),
named so to tell it from ``playground``, the Django project around it."""
