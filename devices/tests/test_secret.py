from devices.models import Device


def test_it_checks_a_device_secret_against_its_salted_hash():
    device = Device(nick="kiosk")
    device.set_secret("s3cret-from-the-factory")
    assert "s3cret" not in device.secret_hash
    assert device.check_secret("s3cret-from-the-factory")
    assert not device.check_secret("s3cret-from-the-factorY")
    assert not device.check_secret("")


def test_two_devices_with_one_secret_store_different_hashes():
    a, b = Device(nick="a"), Device(nick="b")
    a.set_secret("same")
    b.set_secret("same")
    assert a.secret_hash != b.secret_hash


def test_a_device_without_a_secret_never_logs_in():
    assert not Device(nick="kiosk").check_secret("")
