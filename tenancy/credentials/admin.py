"""Django admin for provider credentials: the secret is typed into a password field that is never
filled back in; saving goes through ``credential_set`` so that it is validated and encrypted."""

from __future__ import annotations

from django import forms
from django.contrib import admin

from tenancy.credentials.models import ProviderCredential
from tenancy.credentials.services import credential_set, providers_with_keys


class ProviderCredentialForm(forms.ModelForm):
    api_key = forms.CharField(widget=forms.PasswordInput(render_value=False), required=True,
                              help_text="Write-only: stored encrypted, never shown again. Type it again to replace it.")

    class Meta:
        model = ProviderCredential
        fields = ("namespace", "provider", "name")

    def clean_provider(self):
        provider = self.cleaned_data["provider"]
        if provider not in providers_with_keys():
            raise forms.ValidationError(f"takes no credentials; one of {', '.join(providers_with_keys())}")
        return provider


@admin.register(ProviderCredential)
class ProviderCredentialAdmin(admin.ModelAdmin):
    form = ProviderCredentialForm
    list_display = ("provider", "name", "namespace", "fields", "key_id", "updated_at")
    list_filter = ("provider",)
    search_fields = ("provider", "namespace__name", "namespace__id")
    readonly_fields = ("fields", "key_id", "created_at", "updated_at")

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_fields + (("namespace", "provider", "name") if obj else ())

    def save_model(self, request, obj, form, change):
        saved = credential_set(namespace=obj.namespace, provider=obj.provider, name=obj.name,
                               fields={"api_key": form.cleaned_data["api_key"]})
        obj.pk, obj._state.adding = saved.pk, False
