"""The pure parts of upstream sources: checksum files in every form upstreams publish,
links out of index pages, natural version order (hypothesis: a total order that agrees
with numeric order on dotted numbers), whole-name templates, and the watch block's
checks."""

from __future__ import annotations

import hashlib
import re

from hypothesis import given
from hypothesis import strategies as st

from reconciler.upstream import checksums, index
from reconciler.upstream.versions import (
    DEFAULT_VERSION,
    build_date,
    file_name,
    name_pattern,
    natural_key,
    newest_first,
    watch_problems,
)
from tests.upstreams.layouts import apache_index, nginx_index

A = hashlib.sha256(b"a").hexdigest()
B = hashlib.sha512(b"b").hexdigest()
M = hashlib.md5(b"m").hexdigest()


def test_gnu_lines_text_and_binary_mode_and_the_algorithm_from_the_length() -> None:
    text = f"{A}  debian-13.qcow2\n{A} *noble-server-cloudimg-amd64.img\n{B}  talos.raw.xz\n"
    listed = checksums.parse(text)
    assert listed["debian-13.qcow2"] == (checksums.Digest("sha256", A),)
    assert listed["noble-server-cloudimg-amd64.img"] == (checksums.Digest("sha256", A),)
    assert listed["talos.raw.xz"] == (checksums.Digest("sha512", B),)


def test_bsd_lines_comments_crlf_bom_and_folder_prefixes() -> None:
    text = (
        "\ufeff# CentOS-Stream-GenericCloud-10-20261124.0.x86_64.qcow2: 898564096 bytes\r\n"
        f"SHA256 (CentOS-Stream-GenericCloud-10-20261124.0.x86_64.qcow2) = {A.upper()}\r\n"
        f"SHA512 (./images/other.qcow2) = {B}\r\n"
        "\r\n"
        f"SHA256 (bad-length.img) = {A[:-2]}\r\n"
    )
    listed = checksums.parse(text)
    assert listed["CentOS-Stream-GenericCloud-10-20261124.0.x86_64.qcow2"] == (
        checksums.Digest("sha256", A),
    )
    assert listed["other.qcow2"] == (checksums.Digest("sha512", B),)
    assert "bad-length.img" not in listed  # a digest whose length disagrees with its name


def test_flatcar_digests_sections_give_every_algorithm_and_the_strongest_is_preferred() -> None:
    text = (
        f"# MD5 HASH\n{M}  flatcar.img.bz2\n# SHA1 HASH\n{hashlib.sha1(b'x').hexdigest()}  "
        f"flatcar.img.bz2\n# SHA512 HASH\n{B}  flatcar.img.bz2\n"
    )
    listed = checksums.parse(text)
    assert [d.algorithm for d in listed["flatcar.img.bz2"]] == ["md5", "sha1", "sha512"]
    assert checksums.usable(listed, "flatcar.img.bz2") == (f"sha512:{B}", f"md5:{M}")
    assert checksums.usable(listed, "absent.img") == ()


def test_a_clear_signed_file_is_read_between_its_armor_lines_dash_escaping_undone() -> None:
    text = (
        "-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA256\n\n"
        "# Fedora-Cloud-Base-Generic-41-1.4.x86_64.qcow2: 491716608 bytes\n"
        f"SHA256 (Fedora-Cloud-Base-Generic-41-1.4.x86_64.qcow2) = {A}\n"
        "- -----not a signature line\n"
        "-----BEGIN PGP SIGNATURE-----\n\n"
        f"SHA256 (outside-the-signature.img) = {A}\n"
        "-----END PGP SIGNATURE-----\n"
    )
    assert checksums.is_clearsigned(text)
    body = checksums.clearsigned_body(text)
    assert "-----not a signature line" in body.splitlines()
    listed = checksums.parse(text)
    assert set(listed) == {"Fedora-Cloud-Base-Generic-41-1.4.x86_64.qcow2"}


def test_links_of_apache_nginx_github_and_plain_text_listings() -> None:
    apache = apache_index(
        "/ubuntu/noble/",
        [("20261101/", "2026-11-01 17:35", "-"), ("current/", "2026-11-24 17:35", "-")],
    )
    assert index.names(apache) == ["ubuntu", "20261101", "current"]  # parent folder, rows
    long_name = "AlmaLinux-9-GenericCloud-UEFI-9.5-20241120.x86_64.qcow2"
    nginx = nginx_index("/almalinux/9/cloud/x86_64/images/", [(long_name, "20-Nov-2024", "1M")])
    assert "..&gt;" in nginx and index.names(nginx) == [long_name]  # the href, not the text
    github = (
        '<html><body><a href="/siderolabs/talos/releases/tag/v1.11.10">v1.11.10</a>'
        '<a href="/siderolabs/talos/archive/refs/tags/v1.11.10.tar.gz">tar.gz</a>'
        '<a href="#main">skip</a><a href="?page=2">Next</a>'
        '<a href="https://github.com/siderolabs/talos/releases/tag/v1.11.9">x</a></body></html>'
    )
    assert index.names(github) == ["v1.11.10", "v1.11.10.tar.gz", "v1.11.9"]
    assert index.names("20261101\n20261124/\n# comment\n") == ["20261101", "20261124"]
    assert index.names('<a href="v1%2B2/">v1+2</a>') == ["v1+2"]


def test_natural_order_examples() -> None:
    assert newest_first(["v1.11.9", "v1.11.10", "v1.11.3"]) == ["v1.11.10", "v1.11.9", "v1.11.3"]
    assert newest_first(["20261103.1", "20261124.0", "20261117.0"])[0] == "20261124.0"
    assert newest_first(["9.4-20240805", "9.10-20250101", "9.5-20241120"])[0] == "9.10-20250101"
    assert newest_first(["20261101-1234", "20261101-999"])[0] == "20261101-1234"


dotted = st.lists(st.integers(min_value=0, max_value=10**6), min_size=1, max_size=5)


@given(dotted, dotted)
def test_natural_order_agrees_with_numeric_order_on_dotted_numbers(
    a: list[int], b: list[int]
) -> None:
    left, right = ".".join(map(str, a)), ".".join(map(str, b))
    assert (natural_key(left) < natural_key(right)) == (a < b)
    assert (natural_key(left) == natural_key(right)) == (a == b)


versions = st.text(alphabet="0123456789.-_vrcab", min_size=1, max_size=12)


@given(versions, versions, versions)
def test_natural_order_is_a_total_order(a: str, b: str, c: str) -> None:
    ka, kb, kc = natural_key(a), natural_key(b), natural_key(c)
    assert (ka < kb) + (ka == kb) + (ka > kb) == 1  # trichotomy
    assert (ka == kb) == (a == b)  # two versions never tie
    if ka <= kb and kb <= kc:
        assert ka <= kc  # transitivity


def test_templates_match_whole_names_only() -> None:
    centos7 = name_pattern("CentOS-7-x86_64-GenericCloud-{version}.qcow2")
    names = [
        "CentOS-7-x86_64-GenericCloud-2211.qcow2",
        "CentOS-7-x86_64-GenericCloud-2211.qcow2.xz",
        "CentOS-7-x86_64-GenericCloud-2211.qcow2c",
        "CentOS-7-x86_64-GenericCloud-2211.raw.xz",
    ]
    assert [m["version"] for n in names if (m := centos7.fullmatch(n))] == ["2211"]
    alma = name_pattern("AlmaLinux-9-GenericCloud-{version}.x86_64.qcow2")
    for look_alike in (
        "AlmaLinux-9-GenericCloud-latest.x86_64.qcow2",
        "AlmaLinux-9-GenericCloud-ext4-9.5-20241120.x86_64.qcow2",
        "AlmaLinux-9-GenericCloud-UEFI-9.5-20241120.x86_64.qcow2",
    ):
        assert alma.fullmatch(look_alike) is None
    match = alma.fullmatch("AlmaLinux-9-GenericCloud-9.5-20241120.x86_64.qcow2")
    assert match is not None and match["version"] == "9.5-20241120"
    twice = name_pattern("img-{version}/img-{version}.raw")
    assert twice.fullmatch("img-1.2/img-1.2.raw") and not twice.fullmatch("img-1.2/img-1.3.raw")
    assert re.fullmatch(DEFAULT_VERSION, "v1.11.3") and not re.fullmatch(DEFAULT_VERSION, "latest")


def test_build_dates_and_file_names() -> None:
    assert build_date("20261101") == "2026-11-01"
    assert build_date("20261101-1234") == "2026-11-01"
    assert build_date("9.5-20241120") == "2024-11-20"
    assert build_date("v1.11.3") is None
    assert build_date("20261399") is None  # no such day
    assert file_name("https://u.test/noble/{version}/noble.img?x=1") == "noble.img"


def test_watch_problems() -> None:
    url = "https://u.test/noble/{version}/noble.img"
    sums = "https://u.test/noble/{version}/SHA256SUMS"
    assert watch_problems(url, sums, "https://u.test/noble/", None, None, None) == []
    fields = dict(watch_problems(url, sums, None, None, None, None))
    assert "file name must contain {version}" in fields["url"]
    assert "one fixed URL" in fields["checksums"]
    fields = dict(
        watch_problems("https://u.test/latest.img", sums, "https://u.test/", "x", None, None)
    )
    assert set(fields) == {"index", "version", "checksums"}
    fields = dict(watch_problems(url, sums, "ftp://u.test/", "(", "sig", None))
    assert set(fields) == {"index", "version", "signature", "keyring"}
    assert (
        "named groups"
        in dict(watch_problems(url, sums, "https://u.test/", "(?P<v>1)", None, None))["version"]
    )


def test_an_upstream_that_refuses_is_named_by_host_port_and_reason() -> None:
    import socket

    import pytest

    from reconciler.errors import UpstreamError
    from reconciler.upstream.fetch import Fetcher

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again: nothing listens there
    url = f"http://127.0.0.1:{port}/noble/SHA256SUMS"
    with pytest.raises(UpstreamError) as caught:
        Fetcher(timeout=5).get(url)
    assert str(caught.value) == f"{url}: host 127.0.0.1, port {port}: Connection refused"
