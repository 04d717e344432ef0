"""``--plugin`` by module name and by file path: the current folder is importable, and every
failure is one line on stderr with exit 2, never a traceback."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from graphflow.ui.cli import app

SOURCE = '''
def register(registry):
    def shout(value):
        """Upper-cases its input."""
        return str(value).upper() + "!"

    registry.register_function("{name}.shout", shout)
'''


@pytest.fixture(autouse=True)
def _clean(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv("GRAPHFLOW_PLUGINS", raising=False)
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p not in ("", ".")])
    before = set(sys.modules)
    yield
    for name in set(sys.modules) - before:
        if name.startswith("plug_"):
            del sys.modules[name]


def unique() -> str:
    return f"plug_{uuid.uuid4().hex[:8]}"


def cli(*args: str) -> Any:
    result = CliRunner().invoke(app, list(args))
    assert "Traceback" not in result.output, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    return result


def one_error_line(result: Any) -> str:
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]


def shout_graph(tmp_path: Path, name: str) -> str:
    graph = {"schema_version": 1, "id": "shout", "nodes": [
        {"id": "in", "kind": "input", "config": {"name": "text", "type": "string"}},
        {"id": "f", "kind": "function", "config": {"function": f"{name}.shout"}},
        {"id": "out", "kind": "output", "config": {"name": "loud"}}],
        "edges": [{"id": "e1", "source": "in", "target": "f"}, {"id": "e2", "source": "f", "target": "out"}]}
    path = tmp_path / "graph.json"
    path.write_text(json.dumps(graph))
    return str(path)


def test_plugin_by_file_path(tmp_path: Path) -> None:
    name = unique()
    folder = tmp_path / "my plugins"
    folder.mkdir()
    (folder / f"{name}.py").write_text(SOURCE.replace("{name}", name))
    result = cli("run", shout_graph(tmp_path, name), "--plugin", str(folder / f"{name}.py"), "-i", "text=hi",
                 "--no-store", "-q")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {"loud": "HI!"}


def test_plugin_by_relative_path_and_by_name_from_the_current_folder(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    by_path, by_name = unique(), unique()
    (tmp_path / f"{by_path}.py").write_text(SOURCE.replace("{name}", by_path))
    (tmp_path / f"{by_name}.py").write_text(SOURCE.replace("{name}", by_name))
    result = cli("functions", "--plugin", f"./{by_path}.py", "--plugin", by_name)
    assert result.exit_code == 0, result.output
    assert f"{by_path}.shout" in result.stdout and f"{by_name}.shout" in result.stdout


def test_plugin_by_dotted_name_in_a_package_of_the_current_folder(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    package = unique()
    (tmp_path / package).mkdir()
    (tmp_path / package / "__init__.py").write_text("")
    (tmp_path / package / "nodes.py").write_text(SOURCE.replace("{name}", package))
    result = cli("functions", "--plugin", f"{package}.nodes")
    assert result.exit_code == 0, result.output
    assert f"{package}.shout" in result.stdout


def test_a_plugin_file_can_import_its_neighbour(tmp_path: Path) -> None:
    name, helper = unique(), unique()
    (tmp_path / f"{helper}.py").write_text("SUFFIX = '?!'\n")
    (tmp_path / f"{name}.py").write_text(
        f"from {helper} import SUFFIX\n\n\ndef register(registry):\n"
        f"    registry.register_function('{name}.shout', lambda value: value + SUFFIX)\n")
    result = cli("run", shout_graph(tmp_path, name), "--plugin", str(tmp_path / f"{name}.py"), "-i", "text=hi",
                 "--no-store", "-q")
    assert json.loads(result.stdout) == {"loud": "hi?!"}


@pytest.mark.parametrize(("source", "expected"), [
    (None, "plugin file '{path}' not found"),
    ("def register(registry:\n    pass\n", "cannot import plugin file '{path}': SyntaxError: "),
    ("raise RuntimeError('no config file')\n", "cannot import plugin file '{path}': RuntimeError: no config file"),
    ("import no_such_dependency_xyz\n", "No module named 'no_such_dependency_xyz'"),
    ("X = 1\n", "plugin '{path}' has no register(registry) function"),
    ("def register(registry):\n    raise KeyError('oops')\n", "register(registry) raised KeyError: 'oops'"),
    ("def register(registry):\n    registry.register_function('a', len)\n    registry.register_function('a', len)\n",
     "plugin '{path}': function 'a' is already registered"),
], ids=["missing", "syntax", "raises", "dependency", "no-register", "register-raises", "duplicate"])
def test_every_plugin_file_failure_is_one_line(tmp_path: Path, source: str | None, expected: str) -> None:
    path = tmp_path / f"{unique()}.py"
    if source is not None:
        path.write_text(source)
    line = one_error_line(cli("functions", "--plugin", str(path)))
    assert expected.format(path=path) in line


def test_unknown_module_name_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    line = one_error_line(cli("kinds", "--plugin", "no_such_plugin_xyz"))
    assert "cannot import plugin module 'no_such_plugin_xyz': No module named 'no_such_plugin_xyz'" in line
    line = one_error_line(cli("kinds", "--plugin", "plugins/missing"))
    assert "plugin file 'plugins/missing' not found (a .py file)" in line


# An installed console script: the interpreter puts the script's folder first on sys.path, not the current one.
CONSOLE_SCRIPT = ("import sys; sys.path[:] = [p for p in sys.path if p not in ('', '.')]; "
                  "from graphflow.ui.cli import app; app()")


def test_the_installed_command_imports_a_plugin_from_the_current_folder(tmp_path: Path) -> None:
    name = unique()
    (tmp_path / f"{name}.py").write_text(SOURCE.replace("{name}", name))
    done = subprocess.run([sys.executable, "-c", CONSOLE_SCRIPT, "functions", "--plugin", name], cwd=tmp_path,
                          text=True, capture_output=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert f"{name}.shout" in done.stdout and "Upper-cases its input." in done.stdout


def test_functions_show_signatures_with_port_types(tmp_path: Path) -> None:
    name = unique()
    (tmp_path / f"{name}.py").write_text(
        "from typing import Optional\n\n\ndef repeat(text: str, times: Optional[int] = 2, ctx=None) -> list:\n"
        "    return [text] * (times or 1)\n\n\ndef register(registry):\n"
        f"    registry.register_function('{name}.repeat', repeat)\n")
    result = cli("functions", "--plugin", str(tmp_path / f"{name}.py"))
    line = next(line for line in result.stdout.splitlines() if line.startswith(f"{name}.repeat"))
    assert "(text: string, times: integer) -> array" in line
    listed = json.loads(cli("functions", "--plugin", str(tmp_path / f"{name}.py"), "--json").stdout)
    [entry] = [e for e in listed if e["name"] == f"{name}.repeat"]
    assert entry["parameters"] == [{"name": "text", "type": "string"}, {"name": "times", "type": "integer"}]
    assert entry["returns"] == "array"


def test_functions_show_each_functions_node_ports_and_kinds_says_where_they_come_from(tmp_path: Path) -> None:
    name = unique()
    (tmp_path / f"{name}.py").write_text(
        "from pydantic import BaseModel\n\n\nclass Order(BaseModel):\n    id: str\n\n\n"
        "def total(order: Order, rate: float, note: str = '') -> float:\n    return 1.0\n\n\n"
        "def register(registry):\n"
        f"    registry.register_function('{name}.total', total)\n")
    plugin = str(tmp_path / f"{name}.py")
    line = next(line for line in cli("functions", "--plugin", plugin).stdout.splitlines()
                if line.startswith(f"{name}.total"))
    assert "order:Order, rate:number -> out:number" in line
    [entry] = [e for e in json.loads(cli("functions", "--plugin", plugin, "--json").stdout)
               if e["name"] == f"{name}.total"]
    assert [(p["name"], p["type"], p["required"]) for p in entry["inputs"]] == [
        ("order", "object", True), ("rate", "number", True)]
    assert entry["inputs"][0]["json_schema"]["title"] == "Order"
    row = next(line for line in cli("kinds").stdout.splitlines() if line.startswith("function "))
    assert "per the function's signature" in row
