from django.apps import AppConfig


class CacheConfig(AppConfig):
    name = "inference.cache"
    label = "semantic_cache"
    verbose_name = "Semantic cache"
