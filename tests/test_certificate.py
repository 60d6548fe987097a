"""The cost certificate and the kink report every generated module carries (`ir.cost`,
`emit.certificate`): counts against hand counts, formulas of the named sizes, kinks located."""

from pathlib import Path

from gradgen.emit.certificate import kinks
from gradgen.ir import cost
from gradgen.pipeline import compile_source

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def test_the_lecture_counts_equal_the_hand_counts() -> None:
    # f = z + sin(x^2 + y*exp(z)): x^2, y*e, +, + arithmetic; exp, sin transcendental.
    # Its gradient adds cos (transcendental) and y_bar, v2_bar, t1, z_bar = 1 + t1, 2*x and
    # x_bar (six arithmetic): 10 and 3, a ratio of 13 / 6.
    module = compile_source(EXAMPLES / "lecture.txt").module
    operations = module.COST["operations"]
    assert operations["forward"] == {"arithmetic": "4", "transcendental": "2"}
    assert operations["gradient"] == {"arithmetic": "10", "transcendental": "3"}
    assert module.COST["ratio"] == round(13 / 6, 2) <= module.COST["bound"] == 5
    assert module.COST["peak_bytes"] == {"forward": "24", "gradient": "48"}
    assert module.COST["kinks"] == ()


def test_the_perceptron_counts_its_matmul_flops_by_the_named_sizes() -> None:
    compiled = compile_source(EXAMPLES / "perceptron.txt", wrt="W1,b1,W2,b2")
    operations = compiled.module.COST["operations"]
    assert operations["forward"]["matmul"] == "2*d*h*n + 2*h*k*n"  # X @ W1, Z @ W2
    # and back: X^T dZ, Z^T dA and dA W2^T (no dX: X is not differentiated)
    assert operations["gradient"]["matmul"] == "4*d*h*n + 6*h*k*n"
    assert 1 < compiled.module.COST["ratio"] <= 5
    assert "matmul 2*d*h*n + 2*h*k*n" in compiled.source
    assert compiled.module.COST["kinks"] == ("perceptron.txt:11:9: relu: relu'(0) = 0",)


def test_a_loop_counts_per_step_and_its_tape_per_step_in_bytes() -> None:
    compiled = compile_source(EXAMPLES / "bounce.txt", wrt="h0,v0,e,g")
    certificate = compiled.module.COST
    assert certificate["operations"]["forward"] == {"arithmetic": "6*N + 1", "comparisons": "N"}
    # a step records the condition (1 byte) and three floats (the branch's factor, h and v)
    assert certificate["tape_bytes_per_step"] == {"N": "25"}
    assert certificate["peak_bytes"]["gradient"].startswith("25*N + ")


def test_formulas_add_scale_and_print() -> None:
    n_by_d = cost.entries(("n", "d"))
    assert cost.text(cost.added(n_by_d, n_by_d, {(): 3})) == "2*d*n + 3"
    assert cost.text(cost.scaled(n_by_d, {("T",): 1, (): -1})) == "T*d*n - d*n"
    assert cost.text({}) == "0"
    assert cost.at_large({("n",): 2, (): 1}) == 2 * cost.LARGE + 1


KINKY = """\
def f(x, y):
    a = abs(x) + relu(y) + max(x, y) + min(x, y)
    b = sign(x) * y + where(x > y, x, y)
    if a <= b:
        a = 2 * a
    return a + b
"""


def test_the_kink_report_locates_every_one_sided_gradient() -> None:
    found = kinks(KINKY, "kinky.txt")
    assert [place.split(": ")[0] for place in found] == [
        "kinky.txt:2:9", "kinky.txt:2:18", "kinky.txt:2:28", "kinky.txt:2:40",
        "kinky.txt:3:9", "kinky.txt:3:23", "kinky.txt:3:31", "kinky.txt:4:10"]
    assert [place.split(": ")[1].split()[0] for place in found] == [
        "abs", "relu", "max", "min", "sign", "where", ">", "<="]
    assert "a selection" in found[6] and "a branch" in found[7]
    module = compile_source(KINKY, "kinky.txt").module
    assert module.COST["kinks"] == tuple(found)
    assert "Kinks (the gradient is one-sided" in module.__doc__


def test_the_readme_shows_the_perceptron_certificate_and_the_certified_ratios() -> None:
    readme = (EXAMPLES.parent / "README.md").read_text(encoding="utf-8")
    section = readme.split("## A module that vouches for itself")[1].split("\n## ")[0]
    shown = section.split("```text\n")[1].split("```")[0]
    compiled = compile_source(EXAMPLES / "perceptron.txt", wrt="W1,b1,W2,b2")
    assert shown in compiled.module.__doc__
    lecture = compile_source(EXAMPLES / "lecture.txt").module.COST["ratio"]
    assert f"| lecture | {lecture} |" in section


def test_a_loop_of_a_constant_count_is_counted_by_the_symbol_of_its_index() -> None:
    text = "def f(x):\n    s = x\n    for i in range(2000):\n        s = s * x\n    return s\n"
    module = compile_source(text, "loops.txt").module
    assert module.COST["operations"]["forward"] == {"arithmetic": "steps_i"}
    assert module.COST["tape_bytes_per_step"] == {"steps_i": "8"}
    assert module.check(1.01)["passed"]
