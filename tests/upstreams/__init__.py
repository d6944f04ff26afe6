"""A loopback upstream: an HTTP server on 127.0.0.1 serving image folders laid out as
the distributions publish them (`layouts.py`), with their index pages and checksum
files in the forms the real ones use, signed with a key made for the test (`keys.py`).
"""
