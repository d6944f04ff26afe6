"""The stale check's read-ahead against the real Glance: one listing request per chunk,
each image handed out once, None (so apply reads the image itself) for what a listing
does not return, and the next chunk read in the background when one is first used."""

from __future__ import annotations

import uuid

from reconciler.cloud.glance import GlanceClient
from reconciler.cloud.readahead import ReadAhead
from tests.conftest import Sandbox
from tests.sandbox.helpers import create_image, get_image


def test_chunks_are_read_with_one_request_each_and_handed_out_once(
    sandbox: Sandbox, unique: str, demo_images: list[str]
) -> None:
    ids = [
        create_image(sandbox, {"name": f"{unique}-ra{n}", "os_distro": f"d{n}"}) for n in range(5)
    ]
    hidden = create_image(sandbox, {"name": f"{unique}-ra-hidden", "os_hidden": True})
    demo_images.extend([*ids, hidden])
    missing = str(uuid.uuid4())
    client = GlanceClient(sandbox.session("sandbox"), sandbox.glance_url)
    ahead = ReadAhead(client, [*ids, hidden, missing], size=3, ahead=0)

    first = ahead.take(ids[1])
    assert client.requests_sent == 1  # the first chunk, read when its first image is due
    assert first is not None and first["os_distro"] == "d1"
    assert first == get_image(sandbox, ids[1], cloud="sandbox")  # same as a GET
    assert ahead.take(ids[1]) is None  # handed out once: a second read goes to Glance
    assert [ahead.take(i)["name"] for i in (ids[0], ids[2])] == [  # type: ignore[index]
        f"{unique}-ra0",
        f"{unique}-ra2",
    ]
    assert client.requests_sent == 1
    assert ahead.take(ids[3]) is not None and client.requests_sent == 2
    # Hidden images are not listed by default and an unknown id is not listed at all:
    # apply then reads them one by one (find_image), as before.
    assert ahead.take(hidden) is None and client.requests_sent == 2  # same chunk as ids[3]
    assert ahead.take(missing) is None and client.requests_sent == 3  # a chunk of its own
    assert ahead.take("not-in-the-plan") is None and client.requests_sent == 3


def test_a_failed_listing_leaves_each_image_to_its_own_read(sandbox: Sandbox) -> None:
    # A wrong endpoint path: Glance answers the listing 404, no exception escapes.
    client = GlanceClient(sandbox.session("sandbox"), sandbox.glance_url + "/nowhere")
    ahead = ReadAhead(client, [sandbox.base_image_ids[0]], size=20)
    assert ahead.take(sandbox.base_image_ids[0]) is None
    assert client.requests_sent == 1


def test_the_next_chunk_is_read_in_the_background_once(
    sandbox: Sandbox, unique: str, demo_images: list[str]
) -> None:
    ids = [
        create_image(sandbox, {"name": f"{unique}-rb{n}", "os_distro": f"d{n}"}) for n in range(5)
    ]
    demo_images.extend(ids)
    client = GlanceClient(sandbox.session("sandbox"), sandbox.glance_url)
    ahead = ReadAhead(client, ids, size=2)  # chunks [0, 1], [2, 3], [4]

    assert ahead.take(ids[0])["os_distro"] == "d0"  # type: ignore[index]
    ahead.wait()
    assert client.requests_sent == 2  # its chunk, and the next one in the background
    assert ahead.take(ids[1])["os_distro"] == "d1"  # type: ignore[index]
    assert client.requests_sent == 2
    assert ahead.take(ids[2])["os_distro"] == "d2"  # type: ignore[index]
    ahead.wait()
    assert client.requests_sent == 3  # chunk [4], started by the first take of [2, 3]
    assert ahead.take(ids[3])["os_distro"] == "d3"  # type: ignore[index]
    assert ahead.take(ids[4])["os_distro"] == "d4"  # type: ignore[index]
    ahead.wait()
    assert client.requests_sent == 3  # nothing read twice, nothing past the last chunk
