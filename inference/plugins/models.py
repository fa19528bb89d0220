"""Which plugins each namespace enabled, with the parameters it gave them. A namespace reaches only
the plugins it enabled; a row exists exactly while the plugin is enabled."""

from __future__ import annotations

from django.db import models
from django.utils import timezone


class NamespacePlugin(models.Model):
    namespace = models.ForeignKey("accounts.Namespace", on_delete=models.CASCADE, related_name="plugins")
    inference_name = models.CharField(max_length=200)
    parameters = models.JSONField(default=dict, blank=True,
                                  help_text="Defaults for the plugin's declared parameters; a request's override them.")
    enabled_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "enabled plugin"
        constraints = [models.UniqueConstraint(fields=["namespace", "inference_name"],
                                               name="namespace_plugin_unique")]

    def __str__(self) -> str:
        return f"{self.inference_name} in {self.namespace_id}"
