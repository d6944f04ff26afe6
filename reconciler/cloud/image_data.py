"""Reading an image's declared data: a source probed at plan time (HEAD for a URL, stat
for a file) and streamed at apply time, hashed as it is read. File and network I/O,
reads only.

Streaming keeps memory constant: the bytes go from the source to Glance in blocks, each
block hashed on the way (the declared algorithm, and sha512, which Glance computes for
`os_hash_value`), with no temporary copy and no whole file in memory.

Hashing does not hold up the transfer: each algorithm has a thread of its own that
hashes the blocks while the next ones are sent (hashlib releases the GIL on large
blocks; sha512 and sha256 cost 3.2 s of CPU per GiB here, which in line with the
upload made the tool 1.34x a bare PUT). At most QUEUED blocks wait per algorithm, so
memory stays bounded when hashing is slower than the network. Blocks are read BLOCK
bytes at a time whatever size the HTTP library asks for (urllib3 asks 16 KiB).
"""

from __future__ import annotations

import bz2
import hashlib
import lzma
import os
import queue
import threading
import zlib
from collections.abc import Callable, Iterable
from typing import Any, Protocol

import requests

from reconciler.errors import ChecksumMismatch, Interrupted, SourceUnreadable
from reconciler.model.source import is_url
from reconciler.runtime.interrupts import STOP

USER_AGENT = "reconciler (image data)"


def probe(location: str, timeout: float = 30.0) -> int | None:
    """The source's size in bytes (None when a URL does not say); SourceUnreadable when
    it cannot be read. A plan never reads the data itself."""
    if not is_url(location):
        try:
            return os.stat(location).st_size
        except OSError as err:
            raise SourceUnreadable(f"{location}: {err.strerror}") from None
    answer = _request("HEAD", location, timeout)
    answer.close()
    length = answer.headers.get("Content-Length")
    return int(length) if length and length.isdigit() else None


# Progress is reported at most once per this many bytes (and at the end).
PROGRESS_EVERY = 1 << 20
Progress = Callable[[int, "int | None"], None]  # (bytes read so far, length if known)


def _request(method: str, location: str, timeout: float) -> requests.Response:
    """The URL's answer (streamed: the body is read by the caller, or not at all);
    SourceUnreadable when it cannot be had or the server refuses it (4xx, 5xx)."""
    try:
        answer = requests.request(
            method,
            location,
            stream=True,
            allow_redirects=True,
            timeout=timeout,
            headers={"User-Agent": USER_AGENT},
        )
    except requests.RequestException as err:
        raise SourceUnreadable(f"{location}: {type(err).__name__}: {err}") from None
    if answer.status_code >= 400:
        answer.close()
        raise SourceUnreadable(f"{location}: {method} answered {answer.status_code}")
    return answer


class Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...

    def close(self) -> None: ...


BLOCK = 1 << 20
QUEUED = 8


class _Hasher:
    """One digest fed by a thread of its own, in the order blocks are given."""

    def __init__(self, algorithm: str) -> None:
        self.digest = hashlib.new(algorithm)
        self._blocks: queue.Queue[bytes | None] = queue.Queue(QUEUED)
        self._thread = threading.Thread(target=self._run, name=f"hash-{algorithm}", daemon=True)
        self._thread.start()
        self._ended = False

    def _run(self) -> None:
        while (block := self._blocks.get()) is not None:
            self.digest.update(block)

    def add(self, block: bytes) -> None:
        self._blocks.put(block)

    def end(self) -> None:
        """Wait until every block given is hashed (idempotent)."""
        if not self._ended:
            self._ended = True
            self._blocks.put(None)
        self._thread.join()


class Decompressing:
    """A read-only stream of the decompressed bytes of a compressed one (xz, bz2, gz,
    zst), a block at a time: memory stays bounded by the block and the decompressor's
    window whatever the image's size. Concatenated streams (pbzip2, pigz, several xz
    streams) are read through to the end; bytes that end mid-stream are an error."""

    def __init__(self, raw: Readable, kind: str, name: str) -> None:
        self._raw = raw
        self._kind = kind
        self._name = name
        self._decoder = _Decoder(kind)
        self._pending = b""
        self._ended = False

    def read(self, size: int = -1, /) -> bytes:
        want = BLOCK if size is None or size < 0 else max(size, 1)
        while len(self._pending) < want and not self._ended:
            block = self._raw.read(BLOCK)
            if not block:
                self._ended = True
                if not self._decoder.eof and self._decoder.started:
                    raise SourceUnreadable(
                        f"{self._name}: the {self._kind} stream ends before its end mark "
                        "(a cut download?)"
                    )
                break
            self._pending += self._feed(block)
        out, self._pending = self._pending[:want], self._pending[want:]
        return out

    def _feed(self, block: bytes) -> bytes:
        out = b""
        while block:
            try:
                out += self._decoder.decompress(block)
            except self._decoder.errors as err:
                reason = f"{self._name}: not valid {self._kind} data: {err}"
                raise SourceUnreadable(reason) from None
            block = self._decoder.unused_data if self._decoder.eof else b""
            if block:  # another stream follows the one that ended
                self._decoder = _Decoder(self._kind)
        return out

    def close(self) -> None:
        self._raw.close()


class _Decoder:
    """One decompressor with the interface the stdlib's share (eof, unused_data)."""

    def __init__(self, kind: str) -> None:
        self.started = False
        # What each library raises on bytes that are not its format (bz2: OSError).
        self.errors: tuple[type[Exception], ...] = (OSError, EOFError, ValueError)
        if kind == "xz":
            self._impl: Any = lzma.LZMADecompressor()
            self.errors += (lzma.LZMAError,)
        elif kind == "bz2":
            self._impl = bz2.BZ2Decompressor()
        elif kind == "gz":
            self._impl = zlib.decompressobj(16 + zlib.MAX_WBITS)
            self.errors += (zlib.error,)
        elif kind == "zst":
            import zstandard  # only for .zst sources

            self._impl = zstandard.ZstdDecompressor().decompressobj()
            self.errors += (zstandard.ZstdError,)
        else:
            raise ValueError(f"unknown compression {kind!r}")

    def decompress(self, block: bytes) -> bytes:
        self.started = True
        out: bytes = self._impl.decompress(block)
        return out

    @property
    def eof(self) -> bool:
        return bool(self._impl.eof)

    @property
    def unused_data(self) -> bytes:
        data: bytes = self._impl.unused_data
        return data


class HashingReader:
    """A read-only file object over a source: hashes every block as it is read (in
    the background, see the module's docstring) and counts the bytes. Knowing its
    length (`__len__`) makes requests send a Content-Length instead of chunks."""

    def __init__(
        self,
        raw: Readable,
        length: int | None,
        algorithms: Iterable[str],
        expect: tuple[str, str] | None = None,
        name: str = "",
    ) -> None:
        self._raw = raw
        self._length = length
        wanted = (*algorithms, *((expect[0],) if expect else ()))
        self._hashers = {name: _Hasher(name) for name in dict.fromkeys(wanted)}
        self.read_bytes = 0
        self.on_read: Progress | None = None  # told (bytes read, length) as blocks go
        self._told = 0
        # (algorithm, hex) the whole stream must hash to: checked before the last block
        # is handed on (or the end is told), so a receiver never gets all of a wrong
        # file: the upload ends short and Glance puts the image back to queued.
        self._expect = expect
        self._name = name
        # The reader of the file as published, when this one reads its decompressed
        # bytes (compressed sources); else this reader itself.
        self.published: HashingReader = self

    @property
    def algorithms(self) -> tuple[str, ...]:
        return tuple(self._hashers)

    @property
    def length(self) -> int | None:
        return self._length

    def __len__(self) -> int:
        if self._length is None:
            raise TypeError("length not known")
        return self._length

    def read(self, size: int = -1) -> bytes:
        if STOP.transfer_expired():
            raise Interrupted(
                f"{self._name or 'the source'}: the transfer was cut: the run was "
                f"interrupted {STOP.grace:.0f} s ago"
            )
        block = self._raw.read(size if size is None or size < 0 else max(size, BLOCK))
        if block:
            self.read_bytes += len(block)
            for hasher in self._hashers.values():
                hasher.add(block)
        if self._expect is not None and (
            not block or (self._length is not None and self.read_bytes >= self._length)
        ):
            self._check_expected()
        if self.on_read is not None and (
            not block or self.read_bytes - self._told >= PROGRESS_EVERY
        ):
            self._told = self.read_bytes
            self.on_read(self.read_bytes, self._length)
        return block

    def _check_expected(self) -> None:
        assert self._expect is not None
        algorithm, expected = self._expect
        self._expect = None  # checked once
        actual = self.hexdigest(algorithm)
        if actual != expected:
            raise ChecksumMismatch(
                f"{self._name}: checksum mismatch: expected {algorithm}:{expected}, got "
                f"{algorithm}:{actual} ({self.read_bytes} bytes)"
            )

    def hexdigest(self, algorithm: str) -> str:
        """The digest of every byte read so far (waits for the hashing to catch up;
        read no more after)."""
        hasher = self._hashers[algorithm]
        hasher.end()
        return hasher.digest.hexdigest()

    def close(self) -> None:
        for hasher in self._hashers.values():
            hasher.end()
        self._raw.close()


def open_source(
    location: str,
    algorithms: Iterable[str],
    timeout: float = 60.0,
    *,
    compression: str | None = None,
    published: Iterable[str] = (),
    expect: tuple[str, str] | None = None,
) -> HashingReader:
    """The source as a HashingReader of the bytes to send (the caller closes it):
    `algorithms` hash those bytes, `published` the file as published, `expect` is what
    the published file must hash to (see HashingReader). With `compression` the bytes
    sent are the decompressed ones: `reader.published` is the compressed file's reader."""
    if not is_url(location):
        try:
            # Closed by the reader's owner, after the upload that reads it.
            handle: Readable = open(location, "rb")  # noqa: SIM115
            length: int | None = os.fstat(handle.fileno()).st_size  # type: ignore[attr-defined]
        except OSError as err:
            raise SourceUnreadable(f"{location}: {err.strerror}") from None
    else:
        answer = _request("GET", location, timeout)
        raw: Any = answer.raw
        raw.decode_content = True  # the file's bytes, whatever transfer encoding
        declared = answer.headers.get("Content-Length")
        encoded = answer.headers.get("Content-Encoding") not in (None, "identity")
        length = int(declared) if declared and declared.isdigit() and not encoded else None
        handle = _Closing(raw, answer)
    if compression is None:
        return HashingReader(
            handle, length, (*algorithms, *published), expect=expect, name=location
        )
    file = HashingReader(handle, length, published, expect=expect, name=location)
    reader = HashingReader(Decompressing(file, compression, location), None, algorithms)
    reader.published = file
    return reader


class _Closing:
    """urllib3's raw stream, closing its response when closed."""

    def __init__(self, raw: Any, response: requests.Response) -> None:
        self._raw = raw
        self._response = response

    def read(self, size: int = -1, /) -> bytes:
        try:
            block: bytes = self._raw.read(size if size >= 0 else None)
        except Exception as err:  # urllib3's protocol and timeout errors
            raise SourceUnreadable(f"{self._response.url}: read failed: {err}") from None
        return block

    def close(self) -> None:
        self._response.close()
