from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('devices', '0003_packs'),
    ]

    # The pack models moved to the packs app (packs/migrations/0001_initial.py), with
    # their tables: only Django's idea of which app owns them changes, no data moves.
    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
        migrations.RemoveField(
            model_name='pack',
            name='leader',
        ),
        migrations.RemoveField(
            model_name='pack',
            name='owner',
        ),
        migrations.RemoveField(
            model_name='rollout',
            name='pack',
        ),
        migrations.RemoveField(
            model_name='packmember',
            name='pack',
        ),
        migrations.RemoveField(
            model_name='packmember',
            name='device',
        ),
        migrations.RemoveField(
            model_name='rollout',
            name='leader_step',
        ),
        migrations.RemoveField(
            model_name='wave',
            name='rollout',
        ),
        migrations.DeleteModel(
            name='Delivery',
        ),
        migrations.DeleteModel(
            name='Pack',
        ),
        migrations.DeleteModel(
            name='PackMember',
        ),
        migrations.DeleteModel(
            name='Rollout',
        ),
        migrations.DeleteModel(
            name='Wave',
        ),
            ],
            database_operations=[],
        ),
    ]
