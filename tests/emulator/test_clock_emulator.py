"""The emulator's Date header follows its clock (emu_clock.py): a clock_offset shows in every
answer's Date, as a provider with a wrong clock would show it."""

import email.utils
import time

import requests


def provider_date(emulator):
    r = requests.get(emulator.issuer + "/.well-known/openid-configuration", verify=emulator.ca)
    assert r.status_code == 200
    return email.utils.parsedate_to_datetime(r.headers["Date"]).timestamp()


def test_the_date_header_follows_the_clock_offset(emulator):
    assert abs(provider_date(emulator) - time.time()) < 3
    emulator.control(clock_offset=120)
    assert 117 < provider_date(emulator) - time.time() < 123
    emulator.control(clock_offset=-3600)
    assert -3603 < provider_date(emulator) - time.time() < -3597
