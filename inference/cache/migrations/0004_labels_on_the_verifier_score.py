"""Labels and priors recorded the cosine similarity; from now on they record the verifier's agreement score
(inference/cache/verifier.py), another scale. What the policy learnt on the old scale is forgotten once:
the labels, each entry's observations and each scope's prior (entries and counters stay)."""

from django.db import migrations


def forget(apps, schema_editor):
    apps.get_model("semantic_cache", "CacheLabel").objects.all().delete()
    apps.get_model("semantic_cache", "CacheEntry").objects.update(observed_similarity=[], observed_correct=[])
    apps.get_model("semantic_cache", "CacheScope").objects.update(prior=None, prior_labels=0)


class Migration(migrations.Migration):

    dependencies = [
        ('semantic_cache', '0003_normalised_tier'),
    ]

    operations = [migrations.RunPython(forget, migrations.RunPython.noop)]
