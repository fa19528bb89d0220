"""Named credentials: several of one provider per namespace (one per key, region or account)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("credentials", "0001_initial")]

    operations = [
        migrations.AddField(model_name="providercredential", name="name",
                            field=models.CharField(blank=True, default="", max_length=64)),
        migrations.RemoveConstraint(model_name="providercredential", name="credential_unique_per_ns"),
        migrations.AddConstraint(model_name="providercredential", constraint=models.UniqueConstraint(
            fields=("namespace", "provider", "name"), name="credential_unique_name_per_ns")),
    ]
