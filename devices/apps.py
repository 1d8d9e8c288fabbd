from django.apps import AppConfig


class DevicesConfig(AppConfig):
    name = "devices"
    verbose_name = "Devices"

    def ready(self):
        from devices.auth import DeviceCaller
        from portal.auth import register_caller

        register_caller(DeviceCaller())
