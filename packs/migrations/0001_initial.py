import django.core.validators
import django.db.models.deletion
import django.utils.timezone
import portal.ids
from django.conf import settings
from django.db import migrations, models


MODELS = ("pack", "packmember", "rollout", "wave", "delivery")


def _relabel(apps, old: str, new: str) -> None:
    ContentType = apps.get_model("contenttypes", "ContentType")
    ContentType.objects.filter(app_label=old, model__in=MODELS).update(app_label=new)


def _move_content_types(apps, schema_editor) -> None:
    _relabel(apps, "devices", "packs")


def _move_content_types_back(apps, schema_editor) -> None:
    _relabel(apps, "packs", "devices")


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('devices', '0004_packs_moved_out'),
        ('contenttypes', '0002_remove_content_type_name'),
        ('revisions', '0003_progress_reports'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    # The models were in the devices app until devices/0004; their tables keep the
    # names they had there (Meta.db_table), so this migration only moves Django's state,
    # and the content types (admin history, permissions) follow the models.
    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
        migrations.CreateModel(
            name='Pack',
            fields=[
                ('id', portal.ids.HexIdField(primary_key=True, serialize=False)),
                ('nick', models.CharField(max_length=63)),
                ('description', models.TextField(blank=True, max_length=4000)),
                ('canary_share', models.FloatField(default=0.0, validators=[django.core.validators.MinValueValidator(0.0), django.core.validators.MaxValueValidator(1.0)])),
                ('wave_size', models.PositiveIntegerField(default=0, validators=[django.core.validators.MaxValueValidator(100000)])),
                ('failure_threshold', models.FloatField(default=0.2, validators=[django.core.validators.MinValueValidator(0.0), django.core.validators.MaxValueValidator(1.0)])),
                ('wave_timeout', models.PositiveIntegerField(default=1800, help_text='seconds a wave waits for its devices to reach a final status', validators=[django.core.validators.MinValueValidator(10), django.core.validators.MaxValueValidator(604800)])),
                ('time_created', models.DateTimeField(default=django.utils.timezone.now)),
                ('time_modified', models.DateTimeField(auto_now=True)),
                ('leader', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='led_packs', to='devices.device')),
                ('owner', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='packs', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'db_table': 'devices_pack',
                'ordering': ['nick', 'id'],
            },
        ),
        migrations.CreateModel(
            name='PackMember',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('time_joined', models.DateTimeField(default=django.utils.timezone.now)),
                ('device', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name='pack_membership', to='devices.device')),
                ('pack', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='members', to='packs.pack')),
            ],
            options={
                'db_table': 'devices_packmember',
                'ordering': ['time_joined', 'device_id'],
            },
        ),
        migrations.CreateModel(
            name='Rollout',
            fields=[
                ('id', portal.ids.HexIdField(primary_key=True, serialize=False)),
                ('status', models.CharField(choices=[('running', 'running'), ('paused', 'paused'), ('completed', 'completed'), ('aborted', 'aborted'), ('reverted', 'reverted'), ('superseded', 'superseded')], default='running', max_length=16)),
                ('status_msg', models.TextField(blank=True)),
                ('failure_threshold', models.FloatField()),
                ('wave_timeout', models.PositiveIntegerField()),
                ('time_created', models.DateTimeField(default=django.utils.timezone.now)),
                ('time_modified', models.DateTimeField(auto_now=True)),
                ('time_finished', models.DateTimeField(blank=True, null=True)),
                ('leader_step', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='pack_rollouts', to='revisions.step')),
                ('pack', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='rollouts', to='packs.pack')),
            ],
            options={
                'db_table': 'devices_rollout',
                'ordering': ['-time_created', '-id'],
            },
        ),
        migrations.CreateModel(
            name='Wave',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('number', models.PositiveSmallIntegerField()),
                ('kind', models.CharField(choices=[('canary', 'canary'), ('batch', 'batch')], max_length=8)),
                ('status', models.CharField(choices=[('pending', 'pending'), ('running', 'running'), ('passed', 'passed'), ('failed', 'failed'), ('stopped', 'stopped'), ('skipped', 'skipped'), ('reverted', 'reverted')], default='pending', max_length=16)),
                ('status_msg', models.TextField(blank=True)),
                ('time_started', models.DateTimeField(blank=True, null=True)),
                ('time_decided', models.DateTimeField(blank=True, null=True)),
                ('rollout', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='waves', to='packs.rollout')),
            ],
            options={
                'db_table': 'devices_wave',
                'ordering': ['rollout', 'number'],
            },
        ),
        migrations.CreateModel(
            name='Delivery',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('kind', models.CharField(choices=[('release', 'release'), ('revert', 'revert')], default='release', max_length=8)),
                ('status', models.CharField(choices=[('pending', 'pending'), ('posted', 'posted'), ('current', 'current'), ('failed', 'failed'), ('cancelled', 'cancelled')], default='pending', max_length=16)),
                ('error', models.TextField(blank=True)),
                ('time_created', models.DateTimeField(default=django.utils.timezone.now)),
                ('time_posted', models.DateTimeField(blank=True, null=True)),
                ('device', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='pack_deliveries', to='devices.device')),
                ('previous', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='revisions.step')),
                ('source', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='revisions.step')),
                ('step', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='pack_deliveries', to='revisions.step')),
                ('rollout', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='deliveries', to='packs.rollout')),
                ('wave', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='deliveries', to='packs.wave')),
            ],
            options={
                'verbose_name_plural': 'deliveries',
                'db_table': 'devices_delivery',
                'ordering': ['id'],
            },
        ),
        migrations.AddConstraint(
            model_name='pack',
            constraint=models.UniqueConstraint(fields=('owner', 'nick'), name='pack_nick_unique_per_owner'),
        ),
        migrations.AddConstraint(
            model_name='pack',
            constraint=models.CheckConstraint(condition=models.Q(('canary_share__gte', 0), ('canary_share__lte', 1)), name='pack_canary_share_range'),
        ),
        migrations.AddConstraint(
            model_name='pack',
            constraint=models.CheckConstraint(condition=models.Q(('failure_threshold__gte', 0), ('failure_threshold__lte', 1)), name='pack_failure_threshold_range'),
        ),
        migrations.AddIndex(
            model_name='packmember',
            index=models.Index(fields=['pack', 'time_joined'], name='devices_pac_pack_id_c08e1b_idx'),
        ),
        migrations.AddIndex(
            model_name='rollout',
            index=models.Index(fields=['pack', '-time_created'], name='devices_rol_pack_id_d88088_idx'),
        ),
        migrations.AddIndex(
            model_name='rollout',
            index=models.Index(fields=['status'], name='devices_rol_status_df7bb5_idx'),
        ),
        migrations.AddConstraint(
            model_name='rollout',
            constraint=models.UniqueConstraint(fields=('pack', 'leader_step'), name='rollout_once_per_step'),
        ),
        migrations.AddConstraint(
            model_name='wave',
            constraint=models.UniqueConstraint(fields=('rollout', 'number'), name='wave_number_unique'),
        ),
        migrations.AddIndex(
            model_name='delivery',
            index=models.Index(fields=['rollout', 'kind', 'status'], name='devices_del_rollout_769b71_idx'),
        ),
        migrations.AddConstraint(
            model_name='delivery',
            constraint=models.UniqueConstraint(fields=('rollout', 'device', 'kind'), name='delivery_once_per_device'),
        ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(_move_content_types, _move_content_types_back),
    ]
