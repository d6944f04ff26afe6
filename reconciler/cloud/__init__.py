"""Talking to OpenStack: authentication (keystoneauth1 + openstacksdk's clouds.yaml
loader), the Glance v2 HTTP client and the mapping of HTTP failures to our errors, the
live listing and the apply's read-ahead, and reading an image's declared data (URL or
file, hashed as it streams). Network and file I/O."""
