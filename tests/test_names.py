"""Generated-name safety: every name of the source becomes a distinct, legal Python name that no
generated name can meet, by the one rule of `gradgen.ir.naming.python_name`.

Each hostile name (keywords, soft keywords, builtins, dunders, NFKC look-alikes, the generated
code's own patterns) is compiled as an input, a local, a loop variable, a carried variable, a
branch's result, a helper and the entry function; the module must load, its numbers must be the
hand-derived ones, keyword calls and ``INPUTS`` must keep the source's spelling, and the
module's own globals must be left alone.
"""

from __future__ import annotations

import builtins
import io
import keyword
import math
import re
import tokenize
import types
import unicodedata

import numpy as np
import pytest

from gradgen.emit.module import MODULE_GLOBALS
from gradgen.errors import CompileError
from gradgen.ir.naming import Namer, entry_aliases, helper_name, is_free, python_name
from gradgen.pipeline import compile_source

KEYWORDS = ["lambda", "class", "import", "yield", "async", "None", "True"]
SOFT_KEYWORDS = ["match", "case", "type", "_"]
BUILTIN_NAMES = ["print", "range", "float", "isinstance", "type", "id", "tuple", "len", "int",
                 "reversed", "max", "sum"]
DUNDERS = ["__debug__", "__file__", "__name__", "__getattr__", "__all__", "__dir__",
           "__builtins__", "__spec__", "__doc__", "__import__"]
#: fullwidth x, mathematical bold x, the fi ligature, x + a combining circumflex, ê precomposed
LOOKALIKES = ["ｘ", "𝐱", "ﬁ", "x\u0302", "\u00ea"]
GENERATED = ["v1", "v2", "t1", "x_bar", "y_bar", "f_bar", "x_dot", "tape_x", "tape_v1",
             "f_record", "f_vjp", "_as_float", "_finish", "_whole", "_add_at", "np", "value",
             "cotangent", "forward", "gradient", "vjp", "INPUTS", "f", "f_gradient", "x_2",
             "_with_source_names", "functools"]
NAMES = list(dict.fromkeys(KEYWORDS + SOFT_KEYWORDS + BUILTIN_NAMES + DUNDERS + LOOKALIKES
                           + GENERATED))
IDS = [ascii(name) for name in NAMES]
MODULE_NAME = "gradgen_module"


def load(text: str, **options) -> types.ModuleType:
    """Compile ``text``, check the module's source and globals, and return the module."""
    compiled = compile_source(text, "names.txt", **options)
    module = compiled.load(MODULE_NAME)
    check_source(compiled.source)
    check_globals(module)
    return module


def check_source(source: str) -> None:
    """Every identifier is written as Python reads it (NFKC), and nothing at module level is a
    builtin or a dunder (the module's docstring aside)."""
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type == tokenize.NAME:
            assert token.string == unicodedata.normalize("NFKC", token.string), token
    module_level = [line.split("(")[0].removeprefix("def ").split(" = ")[0].strip()
                    for line in source.splitlines()
                    if line[:1].isidentifier() and (line.startswith("def ") or " = " in line)]
    for name in module_level:
        assert name not in dir(builtins) and not re.fullmatch(r"__(?!_)\w*(?<!_)__", name), name


def check_globals(module: types.ModuleType) -> None:
    """The module's own globals are what Python and the template made them."""
    space = vars(module)
    assert space["__name__"] == MODULE_NAME
    assert space["__file__"] == f"<gradgen {MODULE_NAME}>"
    assert space["__spec__"] is None
    assert space["__builtins__"] is builtins.__dict__
    for name in ("__getattr__", "__dir__", "__all__", "__debug__"):
        assert name not in space, name
    assert module.np is np
    assert callable(module.forward) and module.forward.__name__ == "forward"
    assert callable(module.gradient) and module.gradient.__name__ == "gradient"


def close(got, expected) -> None:
    """``(value, partials)`` agree with the hand-derived ones."""
    value, partials = got
    assert value == pytest.approx(expected[0], rel=1e-14)
    assert len(partials) == len(expected[1])
    assert partials == pytest.approx(expected[1], rel=1e-14)


def spelled(name: str) -> str:
    """The source's own spelling of a name, as ``INPUTS`` gives it (NFC)."""
    return unicodedata.normalize("NFC", name)


# ---- the rule ------------------------------------------------------------------------------

@pytest.mark.parametrize("name", NAMES, ids=IDS)
def test_every_python_name_is_legal_free_and_nfkc(name: str) -> None:
    python = python_name(name, MODULE_GLOBALS)
    assert python.isidentifier() and not keyword.iskeyword(python)
    assert python == unicodedata.normalize("NFKC", python)
    assert python.startswith(unicodedata.normalize("NFKC", name))
    assert python not in dir(builtins) and python not in MODULE_GLOBALS
    assert python != "__debug__" and python != "_" and is_free(python, MODULE_GLOBALS)
    compile(f"{python} = 1\ndef g({python}):\n    {python} = 2\n    return {python}\n",
            "<rule>", "exec")


@pytest.mark.parametrize("name, python", [
    ("x", "x"), ("ｘ", "x"), ("𝐱", "x"), ("ﬁ", "fi"), ("e\u0301", "\u00e9"), ("α", "α"),
    ("lambda", "lambda_"), ("None", "None_"), ("match", "match"), ("case", "case"),
    ("type", "type_"), ("_", "__"), ("print", "print_"), ("isinstance", "isinstance_"),
    ("__debug__", "__debug___"), ("__getattr__", "__getattr___"), ("__", "__"),
    ("np", "np_"), ("_as_float", "_as_float_"), ("ｎｐ", "np_"), ("＿＿debug＿＿", "__debug___"),
    ("ｉｆ", "if_"), ("v1", "v1"), ("x_bar", "x_bar"),
])
def test_the_rule(name: str, python: str) -> None:
    assert python_name(name, MODULE_GLOBALS) == python


def test_names_meet_by_their_python_names() -> None:
    namer = Namer(MODULE_GLOBALS)
    assert [namer.fresh(hint) for hint in ("x", "ｘ", "𝐱", "x_2", "lambda", "lambda_", "ﬁ",
                                           "fi", "type", "type_")] == \
        ["x", "x_2", "x_3", "x_2_2", "lambda_", "lambda__2", "fi", "fi_2", "type_", "type__2"]
    assert namer.temporary("v") == "v1"


def test_helper_and_entry_names() -> None:
    assert helper_name("g", frozenset({"g_vjp"})) == "g_"
    assert helper_name("__getattr__", MODULE_GLOBALS) == "__getattr___"
    assert helper_name("ｆ", frozenset({"f"})) == "f_"
    assert entry_aliases("f", MODULE_GLOBALS) == ("f", "f_gradient")
    assert entry_aliases("type", MODULE_GLOBALS) == ("type_", "type_gradient")
    assert entry_aliases("forward", MODULE_GLOBALS) == ("forward", "forward_gradient")
    assert entry_aliases("np", MODULE_GLOBALS) == ("np_", "np_gradient")


# ---- the cases -----------------------------------------------------------------------

def test_a_fullwidth_name_is_not_its_ascii_look_alike() -> None:
    module = load("def f(x, y):\n    ｘ = x * 2\n    return ｘ + y*x")
    assert module.forward(1, 3) == 5.0
    close(module.gradient(1.0, 3.0), (5.0, (5.0, 1.0)))


@pytest.mark.parametrize("text", ["__debug__ + x", "f(__debug__, x) = __debug__ + x",
                                  "def f(x, y):\n    __debug__ = x\n    return __debug__ + y"])
def test_debug_as_a_name(text: str) -> None:
    module = load(text)
    close(module.gradient(1.0, 2.0), (3.0, (1.0, 1.0)))


def test_a_helper_called_getattr_is_no_module_getattr() -> None:
    module = load("def __getattr__(x):\n    return x * x\n\ndef f(x):\n    return __getattr__(x)")
    assert not hasattr(module, "__getattr__") and not hasattr(module, "anything")
    close(module.gradient(3.0), (9.0, (6.0,)))


def test_a_helper_called_builtins() -> None:
    module = load("def __builtins__(a):\n    return a * a\n\ndef f(x):\n    return __builtins__(x)")
    close(module.gradient(3.0), (9.0, (6.0,)))


def test_an_entry_called_type() -> None:
    module = load("type(x) = x^2")
    close(module.gradient(3.0), (9.0, (6.0,)))
    assert module.type_ is module.forward and module.type_gradient is module.gradient


def test_an_entry_called_isinstance_with_arrays() -> None:
    module = load("def isinstance(X: (n, d), w: (d,)):\n    return sum(tanh(X @ w))")
    X, w = np.arange(6.0).reshape(2, 3) / 10, np.array([0.5, -1.0, 2.0])
    value, (dX, dw) = module.gradient(X, w)
    slope = 1 - np.tanh(X @ w) ** 2
    assert value == pytest.approx(np.tanh(X @ w).sum(), rel=1e-14)
    np.testing.assert_allclose(dX, np.outer(slope, w), rtol=1e-14)
    np.testing.assert_allclose(dw, X.T @ slope, rtol=1e-14)


def test_look_alike_inputs_are_three_inputs() -> None:
    module = load("def f(x, ｘ, 𝐱):\n    return x + 2*ｘ + 3*𝐱*x")
    assert module.INPUTS == module.WRT == ("x", "ｘ", "𝐱")
    expected = (1 + 4 + 3 * 3 * 1, (1 + 9, 2, 3))
    close(module.gradient(1.0, 2.0, 3.0), expected)
    close(module.gradient(**{"x": 1.0, "ｘ": 2.0, "𝐱": 3.0}), expected)
    close(module.gradient(**{"𝐱": 3.0, "x": 1.0, "ｘ": 2.0}), expected)
    assert module.forward(**{"ｘ": 2.0, "𝐱": 3.0, "x": 1.0}) == expected[0]


def test_two_spellings_of_one_character_are_one_name() -> None:
    module = load("def f(\u00ea, y):\n    e\u0302 = \u00ea * 2\n    return e\u0302 + y")
    assert module.INPUTS == ("\u00ea", "y")
    close(module.gradient(1.5, 3.0), (6.0, (2.0, 1.0)))


def test_a_helper_that_looks_like_the_entry() -> None:
    module = load("def ｆ(a):\n    return a * a\n\ndef f(x):\n    return ｆ(x) + x")
    close(module.gradient(1.5), (3.75, (4.0,)))
    assert module.f is module.forward and module.f_gradient is module.gradient


def test_generated_looking_names_in_a_loop() -> None:
    module = load("def f(x, N: int):\n    v1 = x\n    for i in range(N):\n        v1 = v1 * 2\n"
                  "    return v1")
    close(module.gradient(1.5, 3), (12.0, (8.0,)))


# ---- every hostile name in every place -------------------------------------------------------

PLACES = {
    # place: (source with NAME, point, (value, partials) at the point)
    "local": ("def f(x, y):\n    NAME = x * 2\n    return NAME + y*x",
              (1.5, 3.0), lambda x, y: (2 * x + x * y, (2 + y, x))),
    "input": ("def f(x, NAME):\n    return x * NAME + NAME^2 + x",
              (1.5, 3.0), lambda x, a: (x * a + a * a + x, (a + 1, x + 2 * a))),
    "loop variable": ("def f(x, N: int):\n    s = x\n    for NAME in range(N):\n"
                      "        s = s * x + NAME\n    return s",
                      (1.5, 3), lambda x, n: (x**4 + x + 2, (4 * x**3 + 1,))),
    "carried": ("def f(x, N: int):\n    NAME = x\n    for i in range(N):\n"
                "        NAME = NAME * 2\n    return NAME * x",
                (1.5, 3), lambda x, n: (x * x * 2**n, (2 ** (n + 1) * x,))),
    "branch, then": ("def f(x, y):\n    NAME = x * y\n    if x > 0:\n        NAME = NAME * 2\n"
                     "    else:\n        NAME = NAME + y\n    return NAME * x",
                     (1.5, 3.0), lambda x, y: (2 * x * x * y, (4 * x * y, 2 * x * x))),
    "branch, else": ("def f(x, y):\n    NAME = x * y\n    if x > 0:\n        NAME = NAME * 2\n"
                     "    else:\n        NAME = NAME + y\n    return NAME * x",
                     (-1.5, 3.0), lambda x, y: (x * x * y + x * y, (2 * x * y + y, x * x + x))),
    "helper": ("def NAME(a):\n    return a * a\n\ndef f(x):\n    return NAME(x) + x",
               (1.5,), lambda x: (x * x + x, (2 * x + 1,))),
    "helper with a loop": ("def NAME(a, N: int):\n    s = a\n    for i in range(N):\n"
                           "        s = s * a\n    return s\n\ndef f(x, y):\n"
                           "    return NAME(x, 2) * y + NAME(y, 1)",
                           (1.5, 2.0), lambda x, y: (x**3 * y + y * y, (3 * x * x * y,
                                                                         x**3 + 2 * y))),
    "entry": ("NAME(x) = x^2", (3.0,), lambda x: (9.0, (6.0,))),
    "expression": ("NAME * x + NAME", (1.5, 3.0), lambda a, x: (a * x + a, (x + 1, a))),
}


@pytest.mark.parametrize("place", PLACES)
@pytest.mark.parametrize("name", NAMES, ids=IDS)
def test_a_name_in_every_place(name: str, place: str) -> None:
    text, point, formula = PLACES[place]
    text = text.replace("NAME", name)
    if place.startswith("helper") and name == "f":
        with pytest.raises(CompileError, match="'f' is defined twice"):
            compile_source(text, "names.txt")
        return
    module = load(text)
    expected = formula(*point)
    if place == "expression":  # the inputs are the free names, sorted: call by keyword
        inputs = {spelled(name): point[0], "x": point[1]}
        assert set(module.INPUTS) == set(inputs)
        got = module.gradient(**inputs)
        by_input = dict(zip(module.INPUTS, got[1]))
        close((got[0], tuple(by_input[key] for key in inputs)), expected)
        return
    close(module.gradient(*point), expected)
    assert module.forward(*point) == pytest.approx(expected[0], rel=1e-14)
    if place == "input":
        assert module.INPUTS == ("x", spelled(name))
        keywords = {spelled(name): point[1], "x": point[0]}
        close(module.gradient(**keywords), expected)
        assert module.forward(**keywords) == pytest.approx(expected[0], rel=1e-14)
        cotangent = module.vjp(*point, 2.0)[1]
        assert cotangent == pytest.approx(tuple(2 * p for p in expected[1]), rel=1e-14)


@pytest.mark.parametrize("options", [{"mode": "forward"}, {"method": "symbolic"}],
                         ids=["forward mode", "symbolic"])
@pytest.mark.parametrize("place", ["local", "input", "entry"])
@pytest.mark.parametrize("name", NAMES, ids=IDS)
def test_a_name_by_the_other_routes(name: str, place: str, options: dict) -> None:
    text, point, formula = PLACES[place]
    module = load(text.replace("NAME", name), **options)
    close(module.gradient(*point), formula(*point))
    if place == "input":
        close(module.gradient(**{"x": point[0], spelled(name): point[1]}), formula(*point))


@pytest.mark.parametrize("name", DUNDERS + LOOKALIKES + ["v1", "_whole", "np", "type", "X_bar"],
                         ids=ascii)
def test_a_name_as_an_array_input(name: str) -> None:
    module = load(f"def f(X: (n, d), {name}: (d,)):\n    return sum(tanh(X @ {name}))")
    assert module.INPUTS == ("X", spelled(name))
    X, w = np.arange(6.0).reshape(2, 3) / 10, np.array([0.5, -1.0, 2.0])
    slope = 1 - np.tanh(X @ w) ** 2
    for value, (dX, dw) in (module.gradient(X, w),
                            module.gradient(**{"X": X, spelled(name): w})):
        assert value == pytest.approx(np.tanh(X @ w).sum(), rel=1e-14)
        np.testing.assert_allclose(dX, np.outer(slope, w), rtol=1e-14)
        np.testing.assert_allclose(dw, X.T @ slope, rtol=1e-14)
    with pytest.raises(ValueError, match=f"^{spelled(name)} has shape"):
        module.gradient(X, np.ones(4))


def test_a_name_in_a_checkpointed_loop() -> None:
    text = ("def f(x, T: int):\n    v1 = x\n    for max in range(T):\n"
            "        v1 = sin(v1) + max\n    return v1")
    plain, checkpointed = load(text), load(text, checkpoint="sqrt")
    value, slope = 0.5, 1.0
    for step in range(9):
        value, slope = math.sin(value) + step, math.cos(value) * slope
    close(plain.gradient(0.5, 9), (value, (slope,)))
    close(checkpointed.gradient(0.5, 9), (value, (slope,)))
