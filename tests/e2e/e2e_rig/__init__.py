"""Helpers of the end-to-end rig: processes, services, nginx, browser.

Everything here starts real programs (redis-server, php-fpm, the provider emulator, nginx) on free
loopback ports and stops them by PID, so the tests exercise the real parts and leave nothing behind.
"""
