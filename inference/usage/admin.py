from django.contrib import admin

from inference.usage.models import UsageRecord


@admin.register(UsageRecord)
class UsageRecordAdmin(admin.ModelAdmin):
    list_display = ("created_at", "namespace", "api_key", "provider", "model", "modality", "status",
                    "error_type", "total_tokens", "latency_ms", "cached")
    list_filter = ("status", "provider", "modality", "cached")
    search_fields = ("request_id", "model", "inference_name")
    readonly_fields = [f.name for f in UsageRecord._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
