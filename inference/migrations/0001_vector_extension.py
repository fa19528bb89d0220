from django.db import migrations
from pgvector.django import VectorExtension


class Migration(migrations.Migration):
    """pgvector, for the semantic cache's embeddings (docs/semantic-cache.md); created before any vector column."""

    initial = True
    dependencies = []
    operations = [VectorExtension()]
