"""Configuration and credential problems in the words of where the user sets them
(issue 26, 8): the clouds.yaml entry chosen, the OS_* variables, or how to choose a
cloud at all. No network: each problem is found before any request."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from reconciler.cloud.auth import NO_CLOUD, connect, credentials_hint
from reconciler.errors import CloudConfigError
from reconciler.model.cloud_options import CloudOptions


@pytest.fixture
def bare_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No OS_* variable and no clouds.yaml anywhere openstacksdk looks."""
    for key in list(os.environ):
        if key.startswith("OS_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / ".config"))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def problem(options: CloudOptions) -> str:
    with pytest.raises(CloudConfigError) as err:
        connect(options)
    return str(err.value)


def test_nothing_set_says_how_to_choose_a_cloud(bare_environment: Path) -> None:
    # was: "cloud configuration: Auth plugin requires parameters which were not given:
    # auth_url"
    assert problem(CloudOptions()) == NO_CLOUD
    assert "OS_CLOUD" in NO_CLOUD and "OS_AUTH_URL" in NO_CLOUD


def test_os_variables_without_a_password_name_the_variable(
    bare_environment: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # was: "internal error: Exception: password is a required attribute"
    monkeypatch.setenv("OS_AUTH_URL", "http://127.0.0.1:1/v3")
    monkeypatch.setenv("OS_USERNAME", "demo")
    assert problem(CloudOptions()) == "the OS_* variables do not give password: set OS_PASSWORD"


def test_os_variables_without_an_auth_url(
    bare_environment: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OS_USERNAME", "demo")
    assert problem(CloudOptions()) == "the OS_* variables do not give auth_url: set OS_AUTH_URL"


def test_a_clouds_yaml_entry_without_an_auth_url(
    bare_environment: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clouds = bare_environment / "clouds.yaml"
    clouds.write_text("clouds:\n  mine:\n    auth:\n      username: demo\n")
    monkeypatch.setenv("OS_CLIENT_CONFIG_FILE", str(clouds))
    assert problem(CloudOptions(cloud="mine")) == (
        "cloud 'mine' in clouds.yaml does not give auth_url (under its auth:)"
    )


def test_an_unknown_cloud_names_where_clouds_yaml_is_read(bare_environment: Path) -> None:
    assert problem(CloudOptions(cloud="nosuch")).startswith(
        "cloud 'nosuch' is in no clouds.yaml (OS_CLIENT_CONFIG_FILE, ./clouds.yaml"
    )


def test_refused_credentials_point_at_where_they_were_given(
    bare_environment: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Not "the credentials of cloud 'envvars'", a name the user never gave."""
    assert credentials_hint("prod") == "check the credentials of cloud 'prod' in clouds.yaml"
    monkeypatch.setenv("OS_USERNAME", "demo")
    hint = credentials_hint(None)
    assert hint.startswith("check the credentials in the OS_* variables (OS_USERNAME, OS_PASSWORD")
    assert "envvars" not in hint


def test_an_unreachable_identity_service_is_one_whole_line(
    bare_environment: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 26, 7, as the user reads it: host, port and reason, not urllib3's text cut
    at 200 characters ("...(Caused by NewConnectionError(")."""
    from reconciler.cli.main import run

    for key, value in {
        "OS_AUTH_URL": "http://127.0.0.1:1/v3",
        "OS_USERNAME": "demo",
        "OS_PASSWORD": "secret-password",
        "OS_PROJECT_NAME": "demo",
        "OS_USER_DOMAIN_NAME": "Default",
        "OS_PROJECT_DOMAIN_NAME": "Default",
    }.items():
        monkeypatch.setenv(key, value)
    manifest = bare_environment / "m.yaml"
    manifest.write_text("version: 1\nimages: []\n")
    assert run(["plan", str(manifest)]) == 1
    out, err = capsys.readouterr()
    assert err.splitlines() == [
        "error: cannot reach the identity service: host 127.0.0.1, port 1: Connection refused"
    ]
    assert "secret-password" not in out + err
