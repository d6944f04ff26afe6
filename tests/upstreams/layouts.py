"""Upstream folders laid out as the distributions publish them, served by a loopback
`Upstream`: the same paths, index pages (Apache's fancy index, nginx's autoindex,
GitHub's release list), checksum files (GNU with `*` names, BSD with comment lines,
clear-signed) with the other files each one lists beside the image, and look-alike
names. Each builder returns a `Layout`: the `watch:` block a manifest gives it, and the
image bytes of every build, to check what `bump` found and what Glance stored.

Image bytes are made here (random, small, or a real xz stream for the GitHub layout);
what the tests compare is the checksum the files list and the bytes served.
"""

from __future__ import annotations

import hashlib
import lzma
import os
import re
import time
from dataclasses import dataclass, field
from typing import Any

from tests.upstreams.keys import Signer
from tests.upstreams.server import Upstream

DAY = 86_400.0
EPOCH = 1_761_955_200.0  # 2025-11-01


@dataclass
class Layout:
    name: str
    watch: dict[str, Any]
    images: dict[str, tuple[str, bytes]] = field(default_factory=dict)  # version -> url, bytes
    algorithm: str = "sha256"
    newest: str = ""
    keyring: bytes | None = None  # the public key a manifest commits, if signed
    raw: dict[str, bytes] = field(default_factory=dict)  # decompressed bytes, if compressed

    def url(self, version: str) -> str:
        return self.images[version][0]

    def checksum(self, version: str, algorithm: str | None = None) -> str:
        algo = algorithm or self.algorithm
        return f"{algo}:{hashlib.new(algo, self.images[version][1]).hexdigest()}"


def newest(versions: list[str]) -> str:
    """The newest of versions, by their numbers (written here, not the tool's order)."""
    return max(versions, key=lambda v: [int(n) for n in re.findall(r"[0-9]+", v)])


def _hex(data: bytes, algorithm: str) -> str:
    return hashlib.new(algorithm, data).hexdigest()


def _other(size: int = 512) -> bytes:
    return os.urandom(size)


def apache_index(path: str, rows: list[tuple[str, str, str]]) -> str:
    """Apache 2.4's FancyIndexing page (as cloud-images.ubuntu.com and cloud.debian.org
    serve): (href, modified, size) per row, sort links, the parent directory."""
    parent = path.rstrip("/").rsplit("/", 1)[0] + "/"
    lines = [
        '<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 3.2 Final//EN">',
        "<html>",
        " <head>",
        f"  <title>Index of {path.rstrip('/')}</title>",
        " </head>",
        " <body>",
        f"<h1>Index of {path.rstrip('/')}</h1>",
        "  <table>",
        '   <tr><th valign="top"><img src="/icons/blank.gif" alt="[ICO]"></th>'
        '<th><a href="?C=N;O=D">Name</a></th><th><a href="?C=M;O=A">Last modified</a></th>'
        '<th><a href="?C=S;O=A">Size</a></th><th><a href="?C=D;O=A">Description</a></th></tr>',
        '   <tr><th colspan="5"><hr></th></tr>',
        '<tr><td valign="top"><img src="/icons/back.gif" alt="[PARENTDIR]"></td>'
        f'<td><a href="{parent}">Parent Directory</a></td><td>&nbsp;</td>'
        '<td align="right">  - </td><td>&nbsp;</td></tr>',
    ]
    for href, modified, size in rows:
        icon = "folder.gif" if href.endswith("/") else "unknown.gif"
        alt = "[DIR]" if href.endswith("/") else "[   ]"
        lines.append(
            f'<tr><td valign="top"><img src="/icons/{icon}" alt="{alt}"></td>'
            f'<td><a href="{href}">{href}</a></td><td align="right">{modified}  </td>'
            f'<td align="right">{size} </td><td>&nbsp;</td></tr>'
        )
    lines += [
        '   <tr><th colspan="5"><hr></th></tr>',
        "</table>",
        "<address>Apache/2.4.58 (Ubuntu) Server at upstream.test Port 443</address>",
        "</body></html>",
        "",
    ]
    return "\n".join(lines)


def nginx_index(path: str, rows: list[tuple[str, str, str]]) -> str:
    """nginx's autoindex page: long names cut in the text (`..&gt;`), never in the href."""
    out = [
        "<html>",
        f"<head><title>Index of {path}</title></head>",
        "<body>",
        f'<h1>Index of {path}</h1><hr><pre><a href="../">../</a>',
    ]
    for href, modified, size in rows:
        shown = href if len(href) <= 50 else href[:47] + "..&gt;"
        out.append(
            f'<a href="{href}">{shown}</a>{" " * max(1, 51 - len(shown))}{modified}  {size:>8}'
        )
    out += ["</pre><hr></body>", "</html>", ""]
    return "\n".join(out)


def ubuntu(up: Upstream, signer: Signer, versions: list[str], codename: str = "noble") -> Layout:
    """cloud-images.ubuntu.com/<codename>/: a folder per build date beside `current/`
    and `release/`, each with SHA256SUMS (binary-mode `*` names, every artefact of the
    build) and its detached signature SHA256SUMS.gpg."""
    base = f"/ubuntu/{codename}/"
    name = f"{codename}-server-cloudimg-amd64.img"
    layout = Layout(
        "ubuntu",
        {
            "url": f"{up.url}{base}{{version}}/{name}",
            "checksums": f"{up.url}{base}{{version}}/SHA256SUMS",
            "index": f"{up.url}{base}",
            "signature": f"{up.url}{base}{{version}}/SHA256SUMS.gpg",
        },
        keyring=signer.public_key(),
    )
    rows = []
    for number, version in enumerate(versions):
        image = os.urandom(4096) + version.encode()
        layout.images[version] = (
            up.put(f"{base}{version}/{name}", image, EPOCH + number * DAY),
            image,
        )
        artefacts = {
            f"{codename}-server-cloudimg-amd64-azure.vhd.tar.gz": _other(),
            f"{codename}-server-cloudimg-amd64-lxd.tar.xz": _other(),
            name: image,
            f"{codename}-server-cloudimg-amd64.ova": _other(),
            f"{codename}-server-cloudimg-amd64.squashfs": _other(),
            f"{codename}-server-cloudimg-amd64.tar.gz": _other(),
            f"{codename}-server-cloudimg-arm64.img": _other(),
            f"{codename}-server-cloudimg-ppc64el.img": _other(),
        }
        sums = "".join(f"{_hex(data, 'sha256')} *{file}\n" for file, data in artefacts.items())
        up.put(f"{base}{version}/SHA256SUMS", sums)
        up.put(f"{base}{version}/SHA256SUMS.gpg", signer.detach_sign(sums.encode()))
        day = f"{version[:4]}-{version[4:6]}-{version[6:8]}"
        rows.append((f"{version}/", f"{day} 17:35", "-"))
    rows += [("current/", "2026-11-24 17:35", "-"), ("release/", "2026-11-24 17:35", "-")]
    rows.append(("unpacked/", "2024-04-25 10:00", "-"))
    up.put(base, apache_index(base, rows))
    layout.newest = newest(versions)
    return layout


def debian(up: Upstream, versions: list[str], codename: str = "trixie", number: int = 13) -> Layout:
    """cloud.debian.org/images/cloud/<codename>/: `YYYYMMDD-NNNN/` folders and
    `latest/`, versioned file names, SHA512SUMS (GNU, two spaces)."""
    base = f"/images/cloud/{codename}/"
    template = f"debian-{number}-genericcloud-amd64-{{version}}.qcow2"
    layout = Layout(
        "debian",
        {
            "url": f"{up.url}{base}{{version}}/{template}",
            "checksums": f"{up.url}{base}{{version}}/SHA512SUMS",
            "index": f"{up.url}{base}",
        },
        algorithm="sha512",
    )
    rows = [("daily/", "2026-11-30 23:18", "-")]
    for index, version in enumerate(versions):
        file = template.replace("{version}", version)
        image = os.urandom(4096) + version.encode()
        layout.images[version] = (
            up.put(f"{base}{version}/{file}", image, EPOCH + index * DAY),
            image,
        )
        stem = file.removesuffix(".qcow2")
        artefacts = {
            f"{stem}.json": _other(),
            file: image,
            f"{stem}.raw": _other(),
            f"{stem}.tar.xz": _other(),
            f"debian-{number}-generic-amd64-{version}.qcow2": _other(),
            f"debian-{number}-nocloud-amd64-{version}.qcow2": _other(),
        }
        sums = "".join(f"{_hex(data, 'sha512')}  {f}\n" for f, data in artefacts.items())
        up.put(f"{base}{version}/SHA512SUMS", sums)
        rows.append((f"{version}/", f"{version[:4]}-{version[4:6]}-{version[6:8]} 23:18", "-"))
    rows.append(("latest/", "2026-11-30 23:18", "-"))
    up.put(base, apache_index(base, rows))
    layout.newest = newest(versions)
    return layout


def centos_stream(up: Upstream, versions: list[str], release: int = 10) -> Layout:
    """cloud.centos.org/centos/<N>-stream/x86_64/images/: one CHECKSUM in BSD form with
    `# name: N bytes` comments listing every build, beside look-alikes (the -latest
    link, the x86_64-named variant, Vagrant boxes)."""
    base = f"/centos/{release}-stream/x86_64/images/"
    template = f"CentOS-Stream-GenericCloud-{release}-{{version}}.x86_64.qcow2"
    layout = Layout(
        "centos",
        {"url": f"{up.url}{base}{template}", "checksums": f"{up.url}{base}CHECKSUM"},
    )
    blocks = []
    for index, version in enumerate(versions):
        file = template.replace("{version}", version)
        image = os.urandom(4096) + version.encode()
        layout.images[version] = (up.put(base + file, image, EPOCH + index * DAY), image)
        for name, data in (
            (file, image),
            (f"CentOS-Stream-GenericCloud-x86_64-{release}-{version}.x86_64.qcow2", _other()),
            (f"CentOS-Stream-Vagrant-{release}-{version}.x86_64.vagrant-libvirt.box", _other()),
        ):
            blocks.append(
                f"# {name}: {len(data)} bytes\nSHA256 ({name}) = {_hex(data, 'sha256')}\n"
            )
    latest = os.urandom(4096)
    latest_name = f"CentOS-Stream-GenericCloud-{release}-latest.x86_64.qcow2"
    blocks.append(
        f"# {latest_name}: {len(latest)} bytes\nSHA256 ({latest_name}) = {_hex(latest, 'sha256')}\n"
    )
    up.put(base + "CHECKSUM", "".join(blocks))
    layout.newest = newest(versions)
    return layout


def almalinux(up: Upstream, versions: list[str], release: int = 9) -> Layout:
    """repo.almalinux.org/almalinux/<N>/cloud/x86_64/images/: one CHECKSUM in GNU form
    (CRLF line ends here, as some mirrors serve it) listing versioned names beside
    `-latest` and look-alike variants (`-ext4-`, UEFI, OpenNebula)."""
    base = f"/almalinux/{release}/cloud/x86_64/images/"
    template = f"AlmaLinux-{release}-GenericCloud-{{version}}.x86_64.qcow2"
    layout = Layout(
        "almalinux", {"url": f"{up.url}{base}{template}", "checksums": f"{up.url}{base}CHECKSUM"}
    )
    lines = []
    for index, version in enumerate(versions):
        file = template.replace("{version}", version)
        image = os.urandom(4096) + version.encode()
        layout.images[version] = (up.put(base + file, image, EPOCH + index * DAY), image)
        lines.append(f"{_hex(image, 'sha256')}  {file}")
        for variant in ("GenericCloud-ext4", "GenericCloud-UEFI", "OpenNebula"):
            lines.append(
                f"{_hex(_other(), 'sha256')}  AlmaLinux-{release}-{variant}-{version}.x86_64.qcow2"
            )
    lines.append(
        f"{_hex(_other(), 'sha256')}  AlmaLinux-{release}-GenericCloud-latest.x86_64.qcow2"
    )
    up.put(base + "CHECKSUM", "\r\n".join(lines) + "\r\n")
    rows = [(name.split("  ", 1)[1], "20-Nov-2024 12:00", "500M") for name in lines]
    up.put(base, nginx_index(base, rows))
    layout.newest = newest(versions)
    return layout


def rocky(up: Upstream, modified: float, release: int = 9) -> Layout:
    """dl.rockylinux.org/pub/rocky/<N>/images/x86_64/: a fixed
    `Rocky-<N>-GenericCloud.latest.x86_64.qcow2` (no version in the name: the date is
    its Last-Modified) with a one-line BSD `.CHECKSUM` beside it."""
    base = f"/pub/rocky/{release}/images/x86_64/"
    file = f"Rocky-{release}-GenericCloud.latest.x86_64.qcow2"
    image = os.urandom(4096)
    url = up.put(base + file, image, modified)
    up.put(
        base + file + ".CHECKSUM",
        f"# {file}: {len(image)} bytes\nSHA256 ({file}) = {_hex(image, 'sha256')}\n",
    )
    version = time.strftime("%Y%m%d", time.gmtime(modified))  # a fixed URL's: its date
    layout = Layout("rocky", {"url": url, "checksums": url + ".CHECKSUM"})
    layout.images[version] = (url, image)
    layout.newest = version
    return layout


def fedora(up: Upstream, signer: Signer, versions: list[str], release: int = 41) -> Layout:
    """dl.fedoraproject.org/pub/fedora/linux/releases/<N>/Cloud/x86_64/images/: the
    folder's listing names the image files (the version is in the name), and the
    compose's CHECKSUM is PGP clear-signed (BSD lines, comments)."""
    base = f"/pub/fedora/linux/releases/{release}/Cloud/x86_64/images/"
    template = f"Fedora-Cloud-Base-Generic-{release}-{{version}}.x86_64.qcow2"
    layout = Layout(
        "fedora",
        {
            "url": f"{up.url}{base}{template}",
            "checksums": f"{up.url}{base}Fedora-Cloud-{release}-{{version}}-x86_64-CHECKSUM",
            "index": f"{up.url}{base}",
            "signature": "clearsigned",
        },
        keyring=signer.public_key(armor=True),
    )
    rows = []
    for index, version in enumerate(versions):
        file = template.replace("{version}", version)
        image = os.urandom(4096) + version.encode()
        layout.images[version] = (up.put(base + file, image, EPOCH + index * DAY), image)
        other = f"Fedora-Cloud-Base-AmazonEC2-{release}-{version}.x86_64.raw.xz"
        body = "".join(
            f"# {name}: {len(data)} bytes\nSHA256 ({name}) = {_hex(data, 'sha256')}\n"
            for name, data in ((other, _other()), (file, image))
        )
        sums_name = f"Fedora-Cloud-{release}-{version}-x86_64-CHECKSUM"
        up.put(base + sums_name, signer.clearsign(body.encode()))
        rows += [
            (other, "2024-10-24 13:33", "400M"),
            (file, "2024-10-24 13:33", "469M"),
            (sums_name, "2024-10-24 13:33", "1.2K"),
        ]
    up.put(base, apache_index(base, rows))
    layout.newest = newest(versions)
    return layout


def github(up: Upstream, versions: list[str], project: str = "siderolabs/talos") -> Layout:
    """A project releasing on GitHub: the releases page links each tag
    (`/releases/tag/vX.Y.Z`, beside tree and archive links and a pre-release), the
    assets under `/releases/download/vX.Y.Z/`: `openstack-amd64.raw.xz` (a real xz
    stream) and `sha512sum.txt`."""
    page = f"/{project}/releases"
    layout = Layout(
        "github",
        {
            "url": f"{up.url}/{project}/releases/download/{{version}}/openstack-amd64.raw.xz",
            "checksums": f"{up.url}/{project}/releases/download/{{version}}/sha512sum.txt",
            "index": f"{up.url}{page}",
        },
        algorithm="sha512",
    )
    links = []
    for index, version in enumerate([*versions, "v1.12.0-beta.1"]):
        raw = (os.urandom(2048) + version.encode()) * 8 + b"\0" * 65536
        packed = lzma.compress(raw)
        folder = f"/{project}/releases/download/{version}/"
        url = up.put(folder + "openstack-amd64.raw.xz", packed, EPOCH + index * DAY)
        if version in versions:
            layout.images[version] = (url, packed)
            layout.raw[version] = raw
        assets = {
            "metal-amd64.raw.zst": _other(),
            "openstack-amd64.raw.xz": packed,
            "talosctl-linux-amd64": _other(),
        }
        up.put(
            folder + "sha512sum.txt",
            "".join(f"{_hex(d, 'sha512')}  {n}\n" for n, d in assets.items()),
        )
        links.append(
            f'<div class="Box-body"><h2 class="sr-only">{version}</h2>'
            f'<a href="/{project}/releases/tag/{version}" data-view-component="true" '
            f'class="Link--primary Link">{version}</a>'
            f'<a href="/{project}/tree/{version}" class="Link">source</a>'
            f'<a href="/{project}/archive/refs/tags/{version}.tar.gz" rel="nofollow">'
            "tar.gz</a></div>"
        )
    up.put(
        page,
        '<!DOCTYPE html>\n<html lang="en" data-color-mode="auto">\n<head><meta charset="utf-8">'
        f"<title>Releases · {project} · GitHub</title></head>\n<body>\n"
        f'<a href="/{project}">{project}</a>\n' + "\n".join(links) + "\n</body>\n</html>\n",
    )
    layout.newest = newest(versions)
    return layout
