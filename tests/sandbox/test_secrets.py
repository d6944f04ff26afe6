"""Secrets never appear in output, debug logs, plan files, journals or reports; the
reader role can plan and report drift, and apply fails cleanly at the first write."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from tests.conftest import Sandbox
from tests.sandbox.helpers import create_image, get_image, reconciler, run_cli, write_manifest

RECORD = "reconciler.managed"


def _password(sandbox: Sandbox, cloud: str = "sandbox") -> str:
    clouds = YAML(typ="safe").load(sandbox.clouds_file.read_text())
    return str(clouds["clouds"][cloud]["auth"]["password"])


def _every_command(env: dict[str, str], manifest: Path, folder: Path) -> list[str]:
    """Run each command at debug level; return everything it printed or wrote."""
    texts = []
    folder.mkdir(parents=True, exist_ok=True)
    plan_file, journal = folder / "plan.json", folder / "journal.jsonl"
    reports = [f"{fmt}={folder / ('drift.' + fmt)}" for fmt in ("json", "junit", "html")]
    runs = [
        ("--debug", "validate", "--online", str(manifest)),
        ("--debug", "plan", "--out", str(plan_file), str(manifest)),
        ("--debug", "plan", "--format", "json", str(manifest)),
        ("--debug", "apply", "--journal", str(journal), str(plan_file)),
        (
            "--debug",
            "drift",
            "--unmanaged",
            *[x for r in reports for x in ("--report", r)],
            str(manifest),
        ),
        ("--debug", "import", "--mine"),
        ("--debug", "rollback", str(journal)),
        ("--verbose", "plan", str(manifest)),
    ]
    for args in runs:
        done = reconciler(env, *args)
        assert "Traceback" not in done.stderr or args[0] == "--debug", done.stderr
        texts += [done.stdout, done.stderr]
    for path in folder.iterdir():
        if path.is_file():
            texts.append(path.read_text(errors="replace"))
    return texts


def _no_secret(texts: list[str], secret: str, what: str) -> None:
    hits = [text for text in texts if secret in text]
    assert not hits, f"the {what} appears in {len(hits)} output(s)"


def test_password_token_and_application_credential_never_leak(
    sandbox: Sandbox, unique: str, demo_images: list[str], tmp_path: Path
) -> None:
    demo_images.append(create_image(sandbox, {"name": f"{unique}-s", "k": "1"}))
    manifest = write_manifest(
        tmp_path / "git", f"version: 1\nimages:\n  - name: {unique}-s\n    properties: {{k: '2'}}\n"
    )
    password = _password(sandbox)
    texts = _every_command(sandbox.env(), manifest, tmp_path / "password")
    assert any("GET" in t and "/v2/images" in t for t in texts)  # debug logs were on
    _no_secret(texts, password, "password")

    # A token (OS_AUTH_TYPE=token), as a CI job holding a short-lived token would run.
    session = sandbox.session("sandbox")
    token = session.get_token()
    region = sandbox.cloud_region("sandbox")
    auth = region.config["auth"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
    env.update(
        OS_AUTH_TYPE="v3token",
        OS_AUTH_URL=auth["auth_url"],
        OS_TOKEN=token,
        OS_PROJECT_ID=sandbox.project_ids["demo"],
        OS_REGION_NAME="RegionOne",
        OS_IDENTITY_API_VERSION="3",
    )
    texts = _every_command(env, manifest, tmp_path / "token")
    assert any("applied" in t or "No changes" in t for t in texts), texts[:6]
    _no_secret(texts, token, "token")

    # An application credential, the recommended way for CI.
    user_id = session.get_user_id()
    created = session.post(
        f"{auth['auth_url']}/users/{user_id}/application_credentials",
        json={"application_credential": {"name": f"{unique}-ci"}},
    ).json()["application_credential"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
    env.update(
        OS_AUTH_TYPE="v3applicationcredential",
        OS_AUTH_URL=auth["auth_url"],
        OS_APPLICATION_CREDENTIAL_ID=created["id"],
        OS_APPLICATION_CREDENTIAL_SECRET=created["secret"],
        OS_REGION_NAME="RegionOne",
    )
    texts = _every_command(env, manifest, tmp_path / "appcred")
    _no_secret(texts, created["secret"], "application credential secret")

    # A wrong password: the error names the cloud, never the password tried.
    wrong = {
        **sandbox.env(),
        "OS_CLOUD": "",
        "OS_AUTH_URL": auth["auth_url"],
        "OS_USERNAME": "demo-member",
        "OS_PASSWORD": "Wr0ng-S3cret-xyz",
        "OS_PROJECT_NAME": "demo",
        "OS_USER_DOMAIN_NAME": "Default",
        "OS_PROJECT_DOMAIN_NAME": "Default",
    }
    done = reconciler(wrong, "--debug", "plan", str(manifest))
    assert done.returncode == 1
    assert "Wr0ng-S3cret-xyz" not in done.stdout + done.stderr


def test_reader_plans_and_reports_drift_but_apply_changes_nothing(
    sandbox: Sandbox, unique: str, demo_images: list[str], tmp_path: Path
) -> None:
    ids = [create_image(sandbox, {"name": f"{unique}-r{i}", "k": "1"}) for i in range(3)]
    demo_images.extend(ids)
    before = {i: get_image(sandbox, i) for i in ids}
    manifest = write_manifest(
        tmp_path,
        "version: 1\nimages:\n"
        + "".join(f"  - name: {unique}-r{i}\n    properties: {{k: '2'}}\n" for i in range(3))
        + f"  - name: {unique}-rnew\n",
    )
    plan = run_cli(sandbox, "plan", "--detailed-exitcode", str(manifest), cloud="sandbox-reader")
    assert plan.returncode == 2, plan.stderr
    drift = run_cli(sandbox, "drift", str(manifest), cloud="sandbox-reader")
    assert drift.returncode == 2 and "3 drifted, 1 missing" in drift.stdout, drift.stderr
    done = run_cli(
        sandbox,
        "apply",
        "--auto-approve",
        "--format",
        "json",
        str(manifest),
        cloud="sandbox-reader",
    )
    assert done.returncode == 3, done.stderr
    assert "Traceback" not in done.stderr
    report: dict[str, Any] = json.loads(done.stdout)
    assert {r["status"] for r in report["images"]} == {"rolled_back"}
    assert all("403" in r["reason"] for r in report["images"]), report
    for image_id in ids:
        now, was = get_image(sandbox, image_id), before[image_id]
        assert {k: v for k, v in now.items() if k != "updated_at"} == {
            k: v for k, v in was.items() if k != "updated_at"
        }
        assert now["updated_at"] == was["updated_at"]  # not even touched
    names = [i.name for i in sandbox.connection("sandbox-admin").image.images()]
    assert f"{unique}-rnew" not in names


def test_hostile_plan_files_are_refused_before_any_write(
    sandbox: Sandbox, unique: str, demo_images: list[str], tmp_path: Path
) -> None:
    image_id = create_image(sandbox, {"name": f"{unique}-h", "k": "1", RECORD: '["k"]'})
    demo_images.append(image_id)
    before = get_image(sandbox, image_id)
    manifest = write_manifest(
        tmp_path, f"version: 1\nimages:\n  - name: {unique}-h\n    properties: {{k: '2'}}\n"
    )
    plan_file = tmp_path / "plan.json"
    assert run_cli(sandbox, "plan", "--out", str(plan_file), str(manifest)).returncode == 0
    good = json.loads(plan_file.read_text())

    def edited(change: Any) -> Path:
        data = json.loads(json.dumps(good))
        change(data)
        path = tmp_path / f"hostile-{len(list(tmp_path.iterdir()))}.json"
        path.write_text(json.dumps(data))
        return path

    refused = {
        "unknown op": edited(lambda d: d["images"][0]["patch"][0].update(op="copy")),
        "path outside the image": edited(
            lambda d: d["images"][0]["patch"][0].update(path="/locations")
        ),
        "nested path": edited(lambda d: d["images"][0]["patch"][0].update(path="/k/x")),
        "format_version": edited(lambda d: d.update(format_version=99)),
        "another project": edited(lambda d: d["target"].update(project_id="0" * 32)),
    }
    for what, path in refused.items():
        done = run_cli(sandbox, "apply", str(path))
        assert done.returncode == 1, (what, done.stdout, done.stderr)
        assert done.stderr.startswith("error: ") and len(done.stderr.strip().splitlines()) == 1
    # A forged fingerprint: the plan no longer describes the image; nothing is written.
    forged = edited(lambda d: d["images"][0].update(fingerprint="sha256:" + "0" * 64))
    done = run_cli(sandbox, "apply", "--format", "json", str(forged))
    assert done.returncode == 3
    assert json.loads(done.stdout)["images"][0]["status"] == "stale"
    assert get_image(sandbox, image_id) == before  # updated_at included: untouched
