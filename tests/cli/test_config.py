"""Where ``batos`` finds the API and its token: flags and environment, the config file, var/api_token."""

from __future__ import annotations

from pathlib import Path

import pytest

from cli.client import DEFAULT_URL, CliError, resolve


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    for name in ("BATOS_URL", "BATOS_API_TOKEN", "XDG_CONFIG_HOME"):
        monkeypatch.delenv(name, raising=False)
    config = tmp_path / "config.toml"
    monkeypatch.setenv("BATOS_CONFIG", str(config))
    monkeypatch.chdir(tmp_path)
    return config


def test_defaults_with_nothing_configured(clean_env: Path) -> None:
    target = resolve()
    assert (target.url, target.token) == (DEFAULT_URL, None)


def test_the_config_file_then_the_environment_then_flags(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    clean_env.write_text('url = "http://example.test:9000/"\ntoken = "from-file"\n')
    target = resolve()
    assert (target.url, target.token, target.token_from) == ("http://example.test:9000", "from-file", str(clean_env))
    monkeypatch.setenv("BATOS_URL", "http://env.test:1")
    monkeypatch.setenv("BATOS_API_TOKEN", "from-env")
    assert (resolve().url, resolve().token) == ("http://env.test:1", "from-env")
    assert (resolve("http://flag.test", "from-flag").url, resolve("http://flag.test", "from-flag").token) == (
        "http://flag.test", "from-flag")


def test_the_token_make_run_wrote(clean_env: Path) -> None:
    (clean_env.parent / "var").mkdir()
    (clean_env.parent / "var" / "api_token").write_text("made-by-make-run\n")
    target = resolve()
    assert (target.token, target.token_from) == ("made-by-make-run", "var/api_token")


def test_a_broken_config_file_is_a_clear_error(clean_env: Path) -> None:
    clean_env.write_text("url = \n")
    with pytest.raises(CliError, match=r"cannot read the config file .*config\.toml"):
        resolve()
