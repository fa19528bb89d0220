"""Thin views of the dashboard, one module per page: they check the form, call one service, render."""
