"""The emulator's clock in its `Date` header: a provider whose clock is off says so in every
answer, as it does in its tokens' iat and exp. `POST /_emulator/control {"clock_offset": 120}`
moves both; `sesame doctor` reads the header to measure the skew."""

import email.utils


def date_header(state, timestamp=None):
    """The HTTP `Date` value (IMF-fixdate) at the emulator's time (`State.now`, with its
    clock_offset), or at `timestamp` when the caller gives one."""
    return email.utils.formatdate(state.now() if timestamp is None else timestamp, usegmt=True)
