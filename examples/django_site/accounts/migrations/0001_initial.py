from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True
    dependencies: list[tuple[str, str]] = []

    operations = [
        migrations.CreateModel(
            name="OptOut",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False)),
                ("number", models.CharField(max_length=20, unique=True)),
            ],
        ),
        migrations.CreateModel(
            name="InboundMessage",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False)),
                ("sender", models.CharField(max_length=20)),
                ("recipient", models.CharField(max_length=20)),
                ("text", models.TextField()),
                ("received_at", models.DateTimeField()),
            ],
        ),
    ]
