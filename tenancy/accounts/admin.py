from django.contrib import admin, messages

from tenancy.accounts.models import ApiKey, Membership, Namespace, Organization
from tenancy.accounts.services import api_key_create, api_key_revoke


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ("name", "created_at")
    search_fields = ("name",)
    inlines = [MembershipInline]


@admin.register(Namespace)
class NamespaceAdmin(admin.ModelAdmin):
    list_display = ("name", "id", "organization", "created_at")
    list_filter = ("organization",)
    search_fields = ("name", "id")
    readonly_fields = ("id",)


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    """Keys are created through the service so that the secret is generated, hashed and shown once."""

    list_display = ("name", "prefix", "organization", "status", "created_at", "last_used_at", "expires_at")
    list_filter = ("organization",)
    search_fields = ("name", "prefix")
    fields = ("organization", "name", "permissions", "all_namespaces", "namespaces", "expires_at", "rate_limit_rpm",
              "rate_limit_tpm", "prefix", "revoked_at", "last_used_at", "created_at")
    readonly_fields = ("prefix", "revoked_at", "last_used_at", "created_at")
    filter_horizontal = ("namespaces",)
    actions = ["revoke"]

    def save_model(self, request, obj, form, change):
        if change:
            return super().save_model(request, obj, form, change)
        created = api_key_create(organization=obj.organization, name=obj.name, permissions=obj.permissions or None,
                                 expires_at=obj.expires_at, rate_limit_rpm=obj.rate_limit_rpm,
                                 rate_limit_tpm=obj.rate_limit_tpm)
        ApiKey.objects.filter(pk=created.key.pk).update(all_namespaces=obj.all_namespaces)
        obj.pk = created.key.pk
        obj._state.adding = False
        messages.warning(request, f"Copy this secret now, it is not shown again: {created.secret}")

    def save_related(self, request, form, formsets, change):
        form.instance = ApiKey.objects.get(pk=form.instance.pk)
        super().save_related(request, form, formsets, change)

    @admin.action(description="Revoke selected keys")
    def revoke(self, request, queryset):
        for key in queryset:
            api_key_revoke(key=key)
