from django.contrib import admin, messages

from inference.cache.models import CacheEntry, CacheScope, CacheSettings


@admin.register(CacheSettings)
class CacheSettingsAdmin(admin.ModelAdmin):
    list_display = ("namespace", "allow_sampling", "judge_provider", "judge_model", "max_entries", "ttl_seconds")


@admin.register(CacheScope)
class CacheScopeAdmin(admin.ModelAdmin):
    list_display = ("key", "namespace", "provider", "model", "labels", "labels_wrong", "prior_labels", "created_at")
    list_filter = ("provider",)
    actions = ["clear"]

    @admin.action(description="Clear the selected scopes (their answers and what was learnt)")
    def clear(self, request, queryset):
        count = queryset.count()
        queryset.delete()
        self.message_user(request, f"Cleared {count} scope(s).", messages.SUCCESS)


@admin.register(CacheEntry)
class CacheEntryAdmin(admin.ModelAdmin):
    list_display = ("id", "namespace", "scope", "hits", "created_at", "last_hit_at")
    exclude = ("embedding",)
    readonly_fields = ("prompt", "response", "observed_similarity", "observed_correct")
