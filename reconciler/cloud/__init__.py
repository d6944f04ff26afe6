"""Talking to OpenStack: authentication (keystoneauth1 + openstacksdk's clouds.yaml
loader), the Glance v2 HTTP client, and the mapping of HTTP failures to our errors."""
