"""`make bench --readme`: the table is written between the README's markers, and only there."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.__main__ import README_END, README_START, write_readme

RESULTS = {
    "machine": {"cpus": 2, "python": "3.11.7", "platform": "Linux"},
    "server": {"database": "mariadb", "glance_workers": 2, "regions": 10},
    "date": "2026-11-28T09:58:10+00:00",
    "runner_s": 911.0,
    "apply": {
        "4": {"images": 1000, "tool_s": 52.9, "limit_s": 45.3, "ratio": 1.1678},
    },
}


def test_the_table_replaces_the_previous_one_and_nothing_else(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text(f"# title\n\n{README_START}\nold table\n{README_END}\n\n## after\n")
    write_readme(readme, RESULTS)
    text = readme.read_text()
    assert text.startswith("# title\n\n") and text.endswith(f"{README_END}\n\n## after\n")
    assert "old table" not in text
    assert "Glance 33 on mariadb, 2 gunicorn worker(s)" in text
    row = "| apply, 1000 changed, parallelism 4 | 52.9 s | 45.3 s (bare PATCH loop) | 1.17 |"
    assert row in text
    assert "2026-11-28T09:58:10+00:00: 2 CPUs, Python 3.11.7; that run took 15 min" in text
    write_readme(readme, RESULTS)  # a second run leaves one table
    assert readme.read_text() == text


def test_a_readme_without_markers_is_refused_unchanged(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text("# no markers\n")
    with pytest.raises(SystemExit, match="no <!-- bench:table -->"):
        write_readme(readme, RESULTS)
    assert readme.read_text() == "# no markers\n"
