"""Config layering and validation: bad configuration fails with one line before any model
loads (the backend named is the real embedded one, so a late failure would be slow and
visible). Budget: ~2 s."""

from __future__ import annotations

from pathlib import Path

import pytest

from r2p.cli.main import main
from r2p.errors import ConfigError
from r2p.runner.config import build_config, merge_layers, read_config_file


def test_layers_later_set_values_win(tmp_path: Path) -> None:
    f = tmp_path / "c.yaml"
    f.write_text("task: LaMP_3\nk: 2\nmethod_options: {n_candidates: 2, selection: llm}\n")
    t = tmp_path / "c.toml"
    t.write_text('task = "LaMP_3"\nk = 2\n[method_options]\nn_candidates = 2\n')
    assert read_config_file(t) == {"task": "LaMP_3", "k": 2, "method_options": {"n_candidates": 2}}
    cfg = build_config({"k": 4, "data": tmp_path}, read_config_file(f),
                       {"k": None, "method_options": {"n_candidates": 5}, "limit": 3},
                       validate_names=False)
    assert (cfg.task, cfg.k, cfg.limit) == ("LaMP_3", 2, 3)
    assert cfg.method_options == {"n_candidates": 5, "selection": "llm"}
    assert cfg.store_path() == cfg.out.parent / ".r2p-store.sqlite"
    assert merge_layers({"a": 1}, None, {"a": None, "b": 2}) == {"a": 1, "b": 2}
    with pytest.raises(Exception):
        cfg.k = 3  # type: ignore[misc]  # frozen


def _err(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    rc = main(argv)
    err = capsys.readouterr().err.strip()
    assert rc == 2, err
    assert len(err.splitlines()) == 1 and err.startswith("r2p: error: "), err
    return err


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        (["--task", "LaMP_99"], "unknown task 'LaMP_99'; choose from: LaMP_1"),
        (["--method", "magic"], "unknown method 'magic'; choose from: "),
        (["--retriever", "psychic"], "unknown retriever 'psychic'"),
        (["--backend", "nope"], "unknown backend 'nope'; choose from: fake"),
        (["--k", "-1"], "k: Input should be greater than or equal to 0"),
        (["--limit", "0"], "limit: Input should be greater than or equal to 1"),
        (["-m", "novalue"], "--method-option expects KEY=VALUE"),
    ],
)
def test_bad_options_fail_in_one_line(
    shared_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str],
    expected: str,
) -> None:
    argv = ["run", "--task", "LaMP_7", "--data", str(shared_data), "--out", str(tmp_path / "r"),
            "--no-progress", *extra]
    assert expected in _err(capsys, argv)
    assert not (tmp_path / "r").exists()


def test_bad_files_and_dirs_fail_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert "data directory not found" in _err(
        capsys, ["run", "--task", "LaMP_7", "--data", str(tmp_path / "missing")])
    cfg = tmp_path / "c.yaml"
    cfg.write_text("task: LaMP_7\ndata: .\ntemprature: 0.5\n")
    assert "temprature: unknown option" in _err(capsys, ["run", "--config", str(cfg)])
    cfg.write_text("task: [unclosed\n")
    assert "cannot parse config" in _err(capsys, ["run", "--config", str(cfg)])
    assert "config file not found" in _err(capsys, ["run", "--config", str(tmp_path / "x.yml")])


def test_bad_method_option_fails_before_the_model(
    shared_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    err = _err(capsys, ["run", "--task", "LaMP_7", "--data", str(shared_data), "--method", "rag",
                        "-m", "bogus=1", "--out", str(tmp_path / "r")])
    assert "bogus" in err


def test_config_error_type() -> None:
    with pytest.raises(ConfigError, match="task: Field required"):
        build_config({"data": "."}, validate_names=False)
