
import django.contrib.postgres.fields
import django.db.models.deletion
import django.utils.timezone
import pgvector.django.indexes
import pgvector.django.vector
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('accounts', '0004_namespace_routing_timeout'),
        ('inference', '0001_vector_extension'),
    ]

    operations = [
        migrations.CreateModel(
            name='CacheSettings',
            fields=[
                ('namespace', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, primary_key=True, related_name='cache_settings', serialize=False, to='accounts.namespace')),
                ('allow_sampling', models.BooleanField(default=False)),
                ('judge_provider', models.CharField(blank=True, max_length=100)),
                ('judge_model', models.CharField(blank=True, max_length=200)),
                ('max_entries', models.PositiveIntegerField(blank=True, null=True)),
                ('ttl_seconds', models.PositiveIntegerField(blank=True, null=True)),
            ],
            options={
                'verbose_name_plural': 'cache settings',
            },
        ),
        migrations.CreateModel(
            name='CacheScope',
            fields=[
                ('key', models.CharField(max_length=64, primary_key=True, serialize=False)),
                ('provider', models.CharField(max_length=100)),
                ('model', models.CharField(max_length=200)),
                ('prior', django.contrib.postgres.fields.ArrayField(base_field=models.FloatField(), blank=True, null=True, size=5)),
                ('prior_labels', models.PositiveIntegerField(default=0)),
                ('labels', models.PositiveIntegerField(default=0)),
                ('labels_wrong', models.PositiveIntegerField(default=0)),
                ('judged', models.PositiveIntegerField(default=0)),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('namespace', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='cache_scopes', to='accounts.namespace')),
            ],
        ),
        migrations.CreateModel(
            name='CacheLabel',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('similarity', models.FloatField()),
                ('correct', models.BooleanField()),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('scope', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='label_rows', to='semantic_cache.cachescope')),
            ],
            options={
                'indexes': [models.Index(fields=['scope', '-created_at'], name='cache_label_scope_created')],
            },
        ),
        migrations.CreateModel(
            name='CacheEntry',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('prompt_hash', models.CharField(max_length=64)),
                ('prompt', models.TextField()),
                ('embedding', pgvector.django.vector.VectorField(dimensions=384)),
                ('response', models.JSONField()),
                ('prompt_tokens', models.PositiveIntegerField(default=0)),
                ('completion_tokens', models.PositiveIntegerField(default=0)),
                ('observed_similarity', django.contrib.postgres.fields.ArrayField(base_field=models.FloatField(), default=list, size=None)),
                ('observed_correct', django.contrib.postgres.fields.ArrayField(base_field=models.BooleanField(), default=list, size=None)),
                ('hits', models.PositiveIntegerField(default=0)),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('last_hit_at', models.DateTimeField(blank=True, null=True)),
                ('namespace', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='cache_entries', to='accounts.namespace')),
                ('scope', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='entries', to='semantic_cache.cachescope')),
            ],
            options={
                'indexes': [pgvector.django.indexes.HnswIndex(ef_construction=64, fields=['embedding'], m=16, name='cache_entry_embedding_hnsw', opclasses=['vector_cosine_ops']), models.Index(fields=['namespace', 'created_at'], name='cache_entry_ns_created')],
                'constraints': [models.UniqueConstraint(fields=('scope', 'prompt_hash'), name='cache_entry_prompt_unique')],
            },
        ),
    ]
