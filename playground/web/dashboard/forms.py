"""Forms of the dashboard: they parse and check what a browser sends and hold no logic beyond that; the
views hand their cleaned data to the accounts, credentials and plugins services."""

from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta
from datetime import timezone as dt_timezone
from typing import Any

from django import forms
from django.utils import timezone

from core.errors import InfergateError
from core.strings import json_problem
from inference.request import body_decode, finite_float
from inference.types import ParameterSpec
from tenancy.accounts.models import ApiKey, Namespace, Organization, Permission
from tenancy.accounts.services import MAX_LIMIT, NAMESPACE_NAME

NAMESPACE_NAME_HELP = "Letters, digits, '_', '.', '-'; up to 100 characters."


class NamespaceChoices(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: Namespace) -> str:
        return obj.name


class KeyCreateForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="What the key is for, e.g. “billing-service”.")
    permissions = forms.MultipleChoiceField(choices=Permission.choices, widget=forms.CheckboxSelectMultiple,
                                            initial=[Permission.READ, Permission.WRITE])
    namespaces = NamespaceChoices(queryset=Namespace.objects.none(), required=False,
                                    widget=forms.CheckboxSelectMultiple,
                                    help_text="None ticked: every namespace, present and future.")
    expires_on = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}),
                                 help_text="The key stops working at the end of this day (UTC). Empty: never.")
    rate_limit_rpm = forms.IntegerField(required=False, min_value=1, max_value=MAX_LIMIT, label="Requests per minute",
                                        help_text="Empty: the organization's default.")
    rate_limit_tpm = forms.IntegerField(required=False, min_value=1, max_value=MAX_LIMIT, label="Tokens per minute",
                                        help_text="Empty: the organization's default.")

    def __init__(self, *args: Any, organization: Organization, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["namespaces"].queryset = Namespace.objects.filter(organization=organization).order_by("name")

    def clean_expires_on(self):
        day = self.cleaned_data["expires_on"]
        if day is not None and day < timezone.now().astimezone(dt_timezone.utc).date():
            raise forms.ValidationError("Pick today or a later day.")
        return day

    def expires_at(self) -> datetime | None:
        day = self.cleaned_data["expires_on"]
        return None if day is None else datetime.combine(day + timedelta(days=1), time.min, tzinfo=dt_timezone.utc)


class NamespaceNameForm(forms.Form):
    name = forms.CharField(max_length=100, help_text=NAMESPACE_NAME_HELP)

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        if not NAMESPACE_NAME.match(name) or name.startswith("ns_"):
            raise forms.ValidationError("Use only letters, digits, '_', '.' and '-' (no spaces), starting with a "
                                        "letter or digit and not with 'ns_'.")
        return name


class NamespaceLimitsForm(forms.Form):
    rate_limit_rpm = forms.IntegerField(required=False, min_value=1, max_value=MAX_LIMIT, label="Requests per minute",
                                        help_text="Across every key. Empty: no limit.")
    rate_limit_tpm = forms.IntegerField(required=False, min_value=1, max_value=MAX_LIMIT, label="Tokens per minute",
                                        help_text="Across every key. Empty: no limit.")
    monthly_budget_usd = forms.DecimalField(required=False, min_value=0, max_digits=12, decimal_places=2,
                                            label="Monthly budget (USD)", help_text="Empty: no budget.")


class CredentialForm(forms.Form):
    api_key = forms.CharField(max_length=4096, strip=True, label="API key",
                              widget=forms.PasswordInput(attrs={"autocomplete": "off"}, render_value=False))


class NamedCredentialForm(CredentialForm):
    """A provider's credential under a name that deployments refer to (``credential``); the name's rules are the
    credentials service's to check."""

    provider = forms.ChoiceField(label="Provider")
    name = forms.CharField(max_length=64, required=False, strip=True, label="Name",
                           help_text="e.g. east. Empty: the provider's default key.")
    field_order = ["provider", "name", "api_key"]

    def __init__(self, *args: Any, providers: list[str], **kwargs: Any) -> None:
        super().__init__(*args, prefix="named", **kwargs)
        self.fields["provider"].choices = [(p, p) for p in providers]


ROUTING_KEY_ORDER = ("aliases", "fallbacks", "id", "target", "deployments", "strategy", "breaker", "parameters",
                     "credential", "base_url", "weight", "rpm", "tpm", "failures", "cooldown_seconds")
LINE_CHARS = 100


def routing_text(routing: dict[str, Any]) -> str:
    """The stored routing as the editor shows it: keys in the order the docs use them, what fits on a line on one
    line (a deployment, a breaker, a chain of fallbacks), and a deployment without the empty values the settings
    service fills in again on save (no credential, base URL or capacity)."""

    def tidy(value: Any, key: str = "") -> Any:
        if isinstance(value, list):
            return [tidy(item, key) for item in value]
        if not isinstance(value, dict) or key == "parameters":  # the alias's parameters are shown as they are
            return value
        rank = {name: i for i, name in enumerate(ROUTING_KEY_ORDER)}
        items = value.items() if key in ("aliases", "fallbacks") else sorted(
            value.items(), key=lambda kv: rank.get(kv[0], len(rank)))
        if key == "deployments":
            items = [(k, v) for k, v in items if v not in (None, "")]
        return {k: tidy(v, k) for k, v in items}

    def dump(value: Any, indent: int) -> str:
        compact = json.dumps(value, ensure_ascii=False)
        if indent and len(compact) + indent <= LINE_CHARS or not isinstance(value, (dict, list)) or not value:
            return compact
        pad = " " * (indent + 2)
        if isinstance(value, list):
            inner = [pad + dump(item, indent + 2) for item in value]
            return "[\n" + ",\n".join(inner) + "\n" + " " * indent + "]"
        inner = [f"{pad}{json.dumps(k, ensure_ascii=False)}: {dump(v, indent + 2)}" for k, v in value.items()]
        return "{\n" + ",\n".join(inner) + "\n" + " " * indent + "}"

    return dump(tidy(routing or {}), 0)


class RoutingForm(forms.Form):
    """The namespace's ``routing`` as JSON text and its provider timeout, decoded as the API decodes a body; the
    namespace settings service checks them."""

    routing = forms.CharField(required=False, strip=True, label="Routing (JSON)",
                              widget=forms.Textarea(attrs={"rows": 16, "spellcheck": "false", "autocomplete": "off"}))
    provider_timeout_seconds = forms.FloatField(required=False, label="Provider timeout (seconds)")

    def clean_routing(self) -> Any:
        text = self.cleaned_data["routing"]
        if not text:
            return {}  # no aliases and no fallbacks
        try:
            routing = body_decode(text.encode("utf-8", "surrogatepass"))
        except InfergateError as error:
            raise forms.ValidationError(f"Not valid JSON: {error.message.removeprefix('Malformed JSON body: ')}") \
                from None
        if found := json_problem(routing, "routing"):
            raise forms.ValidationError(f"{found['field']}: {found['problem']}")
        return routing


def plugin_parameters_parse(declared: list[ParameterSpec], raw: dict[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
    """A plugin's parameter inputs (name → text, empty: use the plugin's default) as typed values by each
    parameter's declared kind, and a problem per input that does not parse. Bounds are the plugin
    service's to check."""
    values: dict[str, Any] = {}
    problems: dict[str, str] = {}
    for spec in declared:
        text = (raw.get(spec.name) or "").strip()
        if not text:
            continue
        try:
            if spec.kind == "integer":
                values[spec.name] = int(text)
            elif spec.kind == "number":
                values[spec.name] = finite_float(text)
            elif spec.kind == "object" or spec.kind == "stop" and text.startswith("["):
                values[spec.name] = body_decode(text.encode("utf-8", "surrogatepass"))  # as the API decodes JSON
            else:
                values[spec.name] = text
        except (ValueError, InfergateError):
            kind = {"integer": "an integer", "number": "a number"}.get(spec.kind, "JSON")
            problems[spec.name] = f"must be {kind}"
    return values, problems


STATUS_CHOICES = [("", "Any status"), ("200", "200 OK"), ("400", "400 Bad request"), ("401", "401 Unauthorized"),
                  ("403", "403 Forbidden"), ("404", "404 Not found"), ("413", "413 Too large"),
                  ("422", "422 Validation"), ("429", "429 Rate limited"), ("500", "500 Internal"),
                  ("502", "502 Provider error"), ("503", "503 Unavailable"), ("504", "504 Timeout")]
DEFAULT_DAYS = 14
MAX_DAYS = 366


class UsageFilterForm(forms.Form):
    """The usage page's filters (a GET form). Unset dates: the last ``DEFAULT_DAYS`` UTC days."""

    start = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}), label="From")
    end = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}), label="To")
    namespace = forms.ChoiceField(required=False, label="Namespace")
    key = forms.TypedChoiceField(required=False, coerce=int, empty_value=None, label="API key")
    model = forms.CharField(required=False, max_length=300, label="Model",
                            widget=forms.TextInput(attrs={"list": "usage-models", "placeholder": "provider/model"}))
    status = forms.TypedChoiceField(required=False, choices=STATUS_CHOICES, coerce=int, empty_value=None,
                                    label="Status")

    def __init__(self, *args: Any, organization: Organization, today: date, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.today = today
        self.fields["namespace"].choices = [("", "All namespaces"), *Namespace.objects.filter(
            organization=organization).order_by("name").values_list("id", "name")]
        self.fields["key"].choices = [("", "All keys"), *(
            (key_id, f"{name or 'key'} ({prefix}…)") for key_id, name, prefix in ApiKey.objects.filter(
                organization=organization).order_by("name", "id").values_list("id", "name", "prefix"))]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        end = data.get("end") or self.today
        start = data.get("start") or end - timedelta(days=DEFAULT_DAYS - 1)
        if start > end:
            self.add_error("start", "The first day comes after the last.")
        elif (end - start).days >= MAX_DAYS:
            self.add_error("start", f"Pick at most {MAX_DAYS} days.")
        data["start"], data["end"] = start, end
        model = (data.get("model") or "").strip()
        data["provider"], _, data["model"] = model.partition("/") if "/" in model else ("", "", model)
        return data


class CacheSettingsForm(forms.Form):
    """The namespace's semantic cache options that the dashboard edits (bounds as the cache API's)."""

    allow_sampling = forms.BooleanField(required=False, label="Cache answers to requests with temperature > 0")
    ttl_seconds = forms.IntegerField(required=False, min_value=60, max_value=365 * 24 * 3600,
                                     label="Entry lifetime (seconds)", help_text="Empty: the server's default.")
    max_entries = forms.IntegerField(required=False, min_value=1, max_value=10_000_000, label="Most entries",
                                     help_text="Empty: the server's default.")
