"""Coming from openstack-image-manager (OIM): `convert` turns its image files into
manifest entries, `conventions` recognises the images it made so the first plan adopts
them. Pure: no I/O."""
