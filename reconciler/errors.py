"""The project's one exception hierarchy. No I/O.

The CLI catches `ReconcilerError` at the top and prints `str(err)` as one line; nothing
below the CLI prints. HTTP errors are built from responses in one place,
`reconciler.cloud.http_errors.error_from_response`.
"""

from __future__ import annotations


class ReconcilerError(Exception):
    """Base of every error the tool reports to the user as one clear line."""

    exit_code = 1


class UsageError(ReconcilerError):
    """Bad command-line input: a missing path, conflicting flags, no TTY for a prompt."""


class ManifestError(ReconcilerError):
    """One or more problems in the manifests; each carries file:line:col."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        first = problems[0] if problems else "invalid manifest"
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        super().__init__(first + more)


class TargetMismatch(ReconcilerError):
    """A plan file or journal made for another project than these credentials act for."""


class PlanFileError(ReconcilerError):
    """A plan file that cannot be trusted: wrong format, unknown ops, forged content."""


class JournalError(ReconcilerError):
    """A journal that cannot be read or replayed."""


class UpstreamError(ReconcilerError):
    """An upstream (a `source.watch` block's index, checksum file or signature) cannot
    give a build: it does not answer, lists no candidate, or its signature fails."""


class SignatureInvalid(UpstreamError):
    """A checksum file whose signature does not verify against the committed keyring:
    it is never used."""


class SandboxError(ReconcilerError):
    """The local Keystone + Glance sandbox could not be started, reached or stopped."""


class CloudConfigError(ReconcilerError):
    """clouds.yaml / OS_* settings that do not name a usable cloud."""


class CloudError(ReconcilerError):
    """Talking to the cloud failed: a refused request, an unreachable endpoint, ..."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        method: str | None = None,
        url: str | None = None,
        request_id: str | None = None,
    ) -> None:
        self.message = message
        self.status = status
        self.method = method
        self.url = url
        self.request_id = request_id
        where = f"{method} {url}: " if method and url else ""
        code = f"{status} " if status else ""
        rid = f" [request {request_id}]" if request_id else ""
        super().__init__(f"{where}{code}{message}{rid}")

    @property
    def brief(self) -> str:
        """`403 You are not authorized ...`: the status and the server's sentence."""
        return f"{self.status} {self.message}" if self.status else self.message


class ConnectionFailed(CloudError):
    """The endpoint did not answer (refused, reset, DNS, TLS, timeout)."""


class DataError(CloudError):
    """An image's data could not be built as declared. A CloudError because it fails
    the step like a refused request does: the image the run created is rolled back."""


class SourceUnreadable(DataError):
    """The declared source cannot be read (missing file, 404, a download cut off)."""


class ChecksumMismatch(DataError):
    """The bytes (or Glance's hash of them) are not what the manifest declares."""


class ImportFailed(DataError):
    """Glance's import of the data failed or did not finish in time."""


class CopyFailed(DataError):
    """copy-image did not put the data into every store asked for (after its retries),
    or a store's copy may not be deleted (the last one). The image stays as it was,
    usable where its data is: a copy is never rolled back."""


class Interrupted(DataError):
    """A data transfer or import wait cut because the run was interrupted (the image it
    was filling is rolled back)."""


class ResponseLost(ConnectionFailed):
    """A write was sent but no answer came back: it may or may not have happened."""


class AuthenticationFailed(CloudError):
    """401: the credentials were refused."""


class ClientError(CloudError):
    """A 4xx answer."""


class BadRequest(ClientError):
    """400."""


class Forbidden(ClientError):
    """403: the server refused the operation (Glance's ForbiddenOperation)."""


class NotFound(ClientError):
    """404."""


class Conflict(ClientError):
    """409: e.g. replace/remove of a property that is gone, a duplicate member."""


class OverLimit(ClientError):
    """413: over a Glance quota (properties, tags, members)."""


class UnsupportedMediaType(ClientError):
    """415: the PATCH media type was not accepted."""


class TooManyRequests(ClientError):
    """429: rate limited; retried with backoff."""


class ServerError(CloudError):
    """A 5xx answer."""


class InsecureTLSWarning(UserWarning):
    """TLS verification is off (--insecure): shown loudly by the CLI whatever --quiet
    says. A warning, not an error: the run goes on."""
