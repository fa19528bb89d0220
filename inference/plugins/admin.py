from django import forms
from django.contrib import admin

from core.errors import InfergateError
from inference.plugins.models import NamespacePlugin
from inference.plugins.registry import plugin_registry
from inference.plugins.services import enabled_cache_clear, plugin_parameters_check


class NamespacePluginForm(forms.ModelForm):
    """The same checks as the API: an installed plugin, parameters it declares."""

    inference_name = forms.ChoiceField(choices=())

    class Meta:
        model = NamespacePlugin
        fields = ("namespace", "inference_name", "parameters")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["inference_name"].choices = [
            (p.inference_name, f"{p.inference_name} ({p.origin})") for p in plugin_registry().plugins()]

    def clean(self):
        cleaned = super().clean()
        name, parameters = cleaned.get("inference_name"), cleaned.get("parameters")
        if name:
            try:
                cleaned["parameters"] = plugin_parameters_check(inference_name=name, parameters=parameters or {})
            except InfergateError as error:
                self.add_error("parameters", error.message)
        return cleaned


@admin.register(NamespacePlugin)
class NamespacePluginAdmin(admin.ModelAdmin):
    form = NamespacePluginForm
    list_display = ("inference_name", "namespace", "enabled_at", "updated_at")
    list_filter = ("inference_name", "namespace__organization")
    search_fields = ("inference_name", "namespace__name", "namespace__id")

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        enabled_cache_clear(obj.namespace_id)

    def delete_model(self, request, obj):
        super().delete_model(request, obj)
        enabled_cache_clear(obj.namespace_id)

    def delete_queryset(self, request, queryset):
        super().delete_queryset(request, queryset)
        enabled_cache_clear()
