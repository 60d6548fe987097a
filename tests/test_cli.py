"""The command line: commands, exit codes, located errors, atomic output, installation.

Exit status 0 is success, 1 a problem in the user's file, 2 bad usage; on any error nothing is
written and an existing output is left untouched.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gradgen import __version__
from gradgen.cli import main

LECTURE = "f(x, y, z) = z + sin(x^2 + y*exp(z))\n"
REPO = Path(__file__).resolve().parent.parent


def write(tmp_path: Path, text: str, name: str = "expr.txt") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def run_module(path: Path, *args: float) -> tuple:
    """Import a generated module from its file in a fresh, isolated interpreter."""
    code = (f"import runpy; m = runpy.run_path({str(path)!r}); "
            f"print(repr(m['gradient'](*{args!r})))")
    out = subprocess.run([sys.executable, "-I", "-c", code], capture_output=True, text=True,
                         check=True, cwd=path.parent)
    return eval(out.stdout)  # our own repr of floats, not user input


# ---- compile --------------------------------------------------------------------------------

def test_compile_writes_module_beside_input(tmp_path):
    source = write(tmp_path, LECTURE, "lecture.txt")
    assert main(["compile", str(source)]) == 0
    value, partials = run_module(tmp_path / "lecture.py", 2.0, -1.0, 0.0)
    assert value == pytest.approx(0.1411200080598672, rel=1e-15)
    assert partials == pytest.approx((-3.9599699864017817, -0.9899924966004454,
                                      1.9899924966004454), rel=1e-15)


def test_compile_to_output_path_and_stdout(tmp_path, capsys):
    source = write(tmp_path, LECTURE)
    target = tmp_path / "sub" / "mod.py"
    target.parent.mkdir()
    assert main(["compile", str(source), "-o", str(target)]) == 0
    assert main(["compile", str(source), "-o", "-"]) == 0
    assert capsys.readouterr().out == target.read_text(encoding="utf-8")


def test_compile_wrt_subset(tmp_path):
    source = write(tmp_path, LECTURE)
    assert main(["compile", str(source), "--wrt", "z,x"]) == 0
    value, (dz, dx) = run_module(tmp_path / "expr.py", 2.0, -1.0, 0.0)
    assert (dz, dx) == pytest.approx((1.9899924966004454, -3.9599699864017817), rel=1e-15)


def test_output_file_mode_follows_umask(tmp_path):
    source = write(tmp_path, LECTURE)
    assert main(["compile", str(source)]) == 0
    mask = os.umask(0)
    os.umask(mask)
    assert (tmp_path / "expr.py").stat().st_mode & 0o777 == 0o666 & ~mask


@pytest.mark.parametrize("args", [["compile", "--help"], ["ir", "--help"], ["graph", "--help"],
                                  ["--help"]])
def test_help(args, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(args)
    assert exit_info.value.code == 0
    assert "usage: gradgen" in capsys.readouterr().out


def test_version(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.strip() == f"gradgen {__version__}"


def test_python_dash_m_gradgen(tmp_path):
    source = write(tmp_path, LECTURE)
    done = subprocess.run([sys.executable, "-m", "gradgen", "compile", str(source), "-o", "-"],
                          capture_output=True, text=True)
    assert done.returncode == 0
    assert "def gradient(x, y, z):" in done.stdout


# ---- errors ---------------------------------------------------------------------------------

BAD_SOURCES = [  # (source, line, column, start of the message)
    ("f(x, y, z) = sin(x\n", 1, 19, "expected ')' to close '(' opened at 1:17"),
    ("f(x) = sinn(x)\n", 1, 8, "unknown function 'sinn' — did you mean 'sin'?"),
    ("f(x, y, z) = x + w\n", 1, 18, "'w' is not an input; inputs are x, y, z"),
    ("f(x, y) = sin(x, y)\n", 1, 11, "sin takes 1 argument, got 2"),
    ("f(x) = 2x\n", 1, 9, "missing operator: write '2*x'"),
    ("f(a, b) = (a+b)(b+1)\n", 1, 16, "missing operator: write '(a+b)*(b+1)'"),
    ("f(x) = __import__(x)\n", 1, 8, "unknown function '__import__'"),
    ("f(x) = os.system(x)\n", 1, 10, "'.system' is not supported: the only attribute is '.T'"),
    ("f(x) = where(x, 1, 2)\n", 1, 14, "where expects a condition"),
    ("f(x) = sin(x > 0)\n", 1, 14, "sin expects a number, got a condition"),
    ("def f(x):\n    a = x^2\n    return a + b\n", 3, 16, "'b' is not an input"),
    ("f(x) = x > 0\n", 1, 8, "the function's value must be a number, not a condition"),
]


@pytest.mark.parametrize("text, line, col, message", BAD_SOURCES,
                         ids=[message[:30] for *_, message in BAD_SOURCES])
def test_bad_source_is_located_exit_1_and_writes_nothing(tmp_path, capsys, text, line, col,
                                                         message):
    source = write(tmp_path, text)
    assert main(["compile", str(source)]) == 1
    first, source_line, caret = capsys.readouterr().err.splitlines()[:3]
    assert first.startswith(f"{source}:{line}:{col}: error: {message}")
    assert source_line == "    " + text.splitlines()[line - 1]
    assert caret == " " * (4 + col - 1) + "^"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["expr.txt"]


def test_error_leaves_existing_output_untouched(tmp_path):
    source = write(tmp_path, "f(x) = sin(x\n")
    existing = tmp_path / "expr.py"
    existing.write_text("# precious\n")
    assert main(["compile", str(source)]) == 1
    assert existing.read_text() == "# precious\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["expr.py", "expr.txt"]


def test_never_overwrites_input(tmp_path, capsys):
    source = write(tmp_path, LECTURE, "model.py")
    assert main(["compile", str(source)]) == 2
    assert "refusing to overwrite the input file" in capsys.readouterr().err
    assert source.read_text() == LECTURE


def test_missing_file_is_exit_1(tmp_path, capsys):
    assert main(["compile", str(tmp_path / "nope.txt")]) == 1
    assert "nope.txt" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_invalid_utf8_is_located(tmp_path, capsys):
    path = tmp_path / "bad.txt"
    path.write_bytes(b"f(x) = x +\n  \xff\n")
    assert main(["compile", str(path)]) == 1
    assert f"{path}:2:3: error: the file is not valid UTF-8 text" in capsys.readouterr().err


@pytest.mark.parametrize("argv", [["compile"], ["frobnicate", "x.txt"], ["compile", "--bogus"],
                                  []])
def test_bad_usage_is_exit_2(argv, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2


@pytest.mark.parametrize("wrt", ["w", "x,,y", "x,x"])
def test_bad_wrt_is_exit_2_and_writes_nothing(tmp_path, capsys, wrt):
    source = write(tmp_path, LECTURE)
    assert main(["compile", str(source), "--wrt", wrt]) == 2
    assert "--wrt" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["expr.txt"]


# ---- ir and graph ---------------------------------------------------------------------------

def test_ir_and_grad_ir(tmp_path, capsys):
    source = write(tmp_path, LECTURE)
    assert main(["ir", str(source)]) == 0
    forward = capsys.readouterr().out
    assert forward.splitlines()[0] == "f(x: f64[], y: f64[], z: f64[]):"
    assert "    v5: f64[] = sin v4" in forward
    assert main(["ir", "--grad", str(source)]) == 0
    gradient = capsys.readouterr().out
    assert "    # grad of: v5 = sin(v4)" in gradient
    assert gradient.rstrip().endswith("return f, x_bar, y_bar, z_bar")


def test_graph_dot(tmp_path):
    source = write(tmp_path, LECTURE)
    target = tmp_path / "g.dot"
    assert main(["graph", str(source), "-o", str(target)]) == 0
    dot = target.read_text()
    assert dot.startswith('digraph "f" {')
    assert dot.count("shape=box") == 6  # one box per operation
    assert dot.count("shape=ellipse") == 3 + 6 + 1  # inputs, results, the constant 2


def test_graph_svg_needs_graphviz(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr("shutil.which", lambda name: None)
    source = write(tmp_path, LECTURE)
    assert main(["graph", str(source), "-o", str(tmp_path / "g.svg")]) == 2
    assert "Graphviz" in capsys.readouterr().err
    assert not (tmp_path / "g.svg").exists()


# ---- installation ---------------------------------------------------------------------------

def test_non_editable_install_finds_templates(tmp_path):
    """A plain `pip install .` (not editable) must ship the template (gradgen/emit/templates/)."""
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
                    "--target", str(target), str(REPO)], check=True, capture_output=True)
    source = write(tmp_path, LECTURE, "lecture.txt")
    code = ("import sys; sys.path.insert(0, sys.argv[1]); import gradgen, gradgen.cli; "
            "assert gradgen.__file__.startswith(sys.argv[1]), gradgen.__file__; "
            "sys.exit(gradgen.cli.main(['compile', sys.argv[2]]))")
    subprocess.run([sys.executable, "-c", code, str(target), str(source)], check=True,
                   cwd=tmp_path)
    value, _ = run_module(tmp_path / "lecture.py", 2.0, -1.0, 0.0)
    assert value == pytest.approx(0.1411200080598672, rel=1e-15)


# ---- trace ----------------------------------------------------------------------------------

TRACE = "f(x1, x2) = log(x1) + x1*x2 - sin(x2)\n"


def test_trace_prints_the_lecture_tables(tmp_path, capsys):
    source = write(tmp_path, TRACE)
    assert main(["trace", str(source), "--at", "x1=2,x2=5", "--forward", "x1"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "v3 = v0 * v1 | 2 * 5 = 10" in lines
    assert "v6 = v5 - v4 | 10.693 - (-0.959) = 11.652" in lines
    assert "v\u03073 = v\u03070 * v1 + v\u03071 * v0 | 1 * 5 + 0 * 2 = 5" in lines
    assert "v\u03041 = v\u03043 * v0 + v\u03044 * cos(v1) | 1.716" in lines
    assert lines[-2:] == ["x\u03041 = v\u03040 | 5.5", "x\u03042 = v\u03041 | 1.716"]


@pytest.mark.parametrize("argv", [["--at", "x1=2"], ["--at", "x1=2,x2=5", "--forward", "y"],
                                  ["--at", "x1=2,x2=five"]])
def test_trace_bad_point_is_usage(tmp_path, capsys, argv):
    source = write(tmp_path, TRACE)
    assert main(["trace", str(source), *argv]) == 2
    assert "error:" in capsys.readouterr().err


def test_graph_at_labels_values_and_adjoints(tmp_path, capsys):
    source = write(tmp_path, TRACE)
    assert main(["graph", str(source), "--at", "x1=2,x2=5"]) == 0
    dot = capsys.readouterr().out
    assert 'label="v3\\n= 10\\nv\u03043 = 1"' in dot
    assert 'label="v1\\n= 5\\nv\u03041 = 1.716"' in dot
    assert main(["graph", str(source), "--at", "x1=2,x2=5", "--grad"]) == 0
    dot = capsys.readouterr().out  # the gradient program's nodes, each with its value
    assert 'label="x1_bar\\n= 5.5"' in dot  # 1/x1 + x2 at (2, 5)
    assert 'label="x2_bar\\n= 1.716"' in dot  # x1 - cos(x2)


def test_ir_prints_blocks_and_calls(capsys) -> None:
    """Loops, branches and helper calls print with their bodies (a call by its name)."""
    examples = Path(__file__).resolve().parent.parent / "examples"
    assert main(["ir", str(examples / "bounce.txt")]) == 0
    text = capsys.readouterr().out
    assert " = loop 0 N " in text and " = cond " in text
    assert "        bounce_then(" in text and "            return h_2, v_2" in text
    assert main(["ir", "--grad", str(examples / "euler.txt")]) == 0
    text = capsys.readouterr().out
    assert "graph=rate " in text and "graph=rate_vjp" in text
    assert "Graph(" not in text  # a called function is named, not printed whole


# ---- form A: inputs in natural order ------------------------------------------------------------

def test_form_a_inputs_are_in_natural_order():
    from gradgen import compile_source

    module = compile_source("x10 + x2*x1 + y + x + x01 + b12c + b2c\n").module
    assert module.INPUTS == ("b2c", "b12c", "x", "x01", "x1", "x2", "x10", "y")
    value, partials = module.gradient(*range(1, 9))
    assert partials[module.INPUTS.index("x2")] == module.INPUTS.index("x1") + 1


# ---- what compiling imports -----------------------------------------------------------------

def test_import_and_compile_leave_sympy_out(tmp_path):
    """SymPy (and the commands that study a function) are imported by the routes that need
    them only: not by ``import gradgen``, nor by compiling a file."""
    source = write(tmp_path, LECTURE)
    code = ("import sys, gradgen; assert 'sympy' not in sys.modules, 'import'; "
            "from gradgen.cli import main; assert main(['compile', sys.argv[1]]) == 0; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] == 'sympy' "
            "or m in ('gradgen.tools.study', 'gradgen.tools.compare')))")
    out = subprocess.run([sys.executable, "-c", code, str(source)], capture_output=True,
                         text=True, check=True, cwd=REPO)
    assert out.stdout == "[]\n"


# ---- manners: what a command says -------------------------------------------------------------

def test_compile_says_on_stderr_what_it_wrote(tmp_path, capsys):
    source = write(tmp_path, LECTURE, "lecture.txt")
    assert main(["compile", str(source)]) == 0
    out, err = capsys.readouterr()
    assert out == ""
    assert err == f"wrote {tmp_path / 'lecture.py'}: forward 6 ops, gradient 13 ops, 3 inputs\n"
    assert main(["compile", str(source), "-o", "-", "--mode", "forward"]) == 0
    out, err = capsys.readouterr()
    assert out.startswith('"""Value and gradient of f') and err == ""  # stdout: the module


def test_error_on_a_long_line_shows_a_window_around_the_column(tmp_path, capsys):
    text = "f(x) = " + " + ".join(["x"] * 5000) + " + $ + " + " + ".join(["x"] * 5000) + "\n"
    col = text.index("$") + 1
    assert main(["compile", str(write(tmp_path, text))]) == 1
    head, shown, caret = capsys.readouterr().err.splitlines()
    assert head.startswith(f"{tmp_path / 'expr.txt'}:1:{col}: error:")
    assert shown.startswith("    ...") and shown.endswith("...") and len(shown) < 120
    assert shown[caret.index("^")] == "$"


def test_missing_input_file_is_one_line_in_words(tmp_path, capsys):
    missing = tmp_path / "nope.txt"
    assert main(["compile", str(missing)]) == 1
    assert capsys.readouterr().err == f"gradgen: error: cannot read {missing}: no such file\n"


def test_output_into_a_missing_folder_names_it_and_leaves_nothing(tmp_path, capsys):
    source = write(tmp_path, LECTURE)
    target = tmp_path / "no" / "such" / "m.py"
    assert main(["compile", str(source), "-o", str(target)]) == 1
    assert capsys.readouterr().err == (f"gradgen: error: cannot write {target}: no such folder "
                                       f"{target.parent}\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["expr.txt"]


# ---- the API's arguments ----------------------------------------------------------------------

def test_api_takes_a_path_where_a_file_is_meant(tmp_path):
    import gradgen

    source = write(tmp_path, LECTURE, "lecture.txt")
    compiled = gradgen.compile_source(source)
    assert "compiled from lecture.txt" in compiled.source
    assert compiled.module.gradient(2.0, -1.0, 0.0)[0] == pytest.approx(0.1411200080598672)
    assert gradgen.check(source, points=5).passed
    assert gradgen.compare(source, at={"x": 2, "y": -1, "z": 0}).point == {
        "x": 2.0, "y": -1.0, "z": 0.0}
    with pytest.raises(FileNotFoundError, match="cannot read .*nope.txt: no such file"):
        gradgen.compile_source(tmp_path / "nope.txt")
    with pytest.raises(TypeError, match="a str.* or a pathlib.Path, got bytes"):
        gradgen.compile_source(LECTURE.encode())


@pytest.mark.parametrize("wrt", ["z,x", " z , x", ("z", "x"), ["z", "x"]])
def test_api_wrt_string_is_split_at_commas(wrt):
    from gradgen import compile_source

    assert compile_source(LECTURE, wrt=wrt).module.WRT == ("z", "x")


def test_api_wrt_of_one_long_name_is_that_name():
    from gradgen import compile_source

    assert compile_source("f(xy, z) = xy*z\n", wrt="xy").module.WRT == ("xy",)


def test_api_missing_at_coordinate_names_it_and_the_inputs():
    from gradgen import compare

    with pytest.raises(ValueError, match="no value for y; expected a value for each input: "
                                         "x, y, z"):
        compare(LECTURE, at={"x": 2.0, "z": 0.0})
    with pytest.raises(ValueError, match="'w' is not an input; expected"):
        compare(LECTURE, at={"x": 2.0, "y": 1.0, "z": 0.0, "w": 1.0})


def test_source_text_naming_a_file_is_text_with_a_hint(tmp_path, monkeypatch):
    from gradgen import compile_source
    from gradgen.errors import CompileError

    monkeypatch.chdir(tmp_path)
    write(tmp_path, LECTURE, "lecture.txt")
    with pytest.raises(CompileError, match=r"did you mean to read the file lecture.txt\? "
                                           r"pass pathlib.Path\('lecture.txt'\)") as error:
        compile_source("lecture.txt")
    assert (error.value.line, error.value.col) == (1, 8)
    write(tmp_path, "x\n", "lecture")
    assert compile_source("lecture").module.INPUTS == ("lecture",)  # it parses: an expression


class _Terminal(io.StringIO):
    """A text stream that says it is a terminal (as standard error is, at a prompt)."""

    def isatty(self) -> bool:
        return True


def test_a_long_compile_reports_progress_on_a_terminal_only() -> None:
    from gradgen.tools.progress import reported

    terminal, piped = _Terminal(), io.StringIO()
    for stream in (terminal, piped):
        with reported("compiling big.txt", stream, first=0.05, every=0.05):
            time.sleep(0.3)
    assert "gradgen: compiling big.txt, 0 s..." in terminal.getvalue()
    assert terminal.getvalue().endswith("\r\033[K")  # the line cleared at the end
    assert piped.getvalue() == ""
    quick = _Terminal()
    with reported("compiling small.txt", quick, first=5.0):
        pass
    assert quick.getvalue() == ""  # a quick compile says nothing
