"""The runtime (the bottom layer, beside `errors`): the functions a generated module defines.

Each is an ordinary Python function of NumPy values, written exactly as a generated module
carries it: the emitter copies the ones a module calls into it by their source
(`inspect.getsource`), so the module needs nothing but NumPy, and the interpreter (a registry
entry's ``impl``) calls these same functions. Every function of the runtime is a module-level
name of a generated module (`FUNCTIONS`, from which `gradgen.ir.naming` takes its reserved
names). Its modules import only NumPy, the standard library and each other, and no
annotations: the text is the generated text.

The sections come in the order a generated module defines their functions: converting the
inputs, checking shapes and finishing the results, Jacobians, blocks and compiled loops
(`values`); the Hessian by sweeps of hvp (`second_order`); SciPy's one flat vector (`flat`);
running a branching function one point at a time (`pointwise`); the functions that registry
entries call, in the order of their primitives' names (`helpers`); the module's own check
(`self_check`); last `_with_source_names` (`source_names`), which the module's layout places
after its aliases are made.
"""

import inspect

from gradgen.runtime import (
    flat,
    helpers,
    pointwise,
    second_order,
    self_check,
    source_names,
    values,
)

#: The sections, in the order a generated module defines their functions.
SECTIONS = (values, second_order, flat, pointwise, helpers, self_check, source_names)

#: Every runtime function by name, in the order a generated module defines them.
FUNCTIONS = {name: value for section in SECTIONS for name, value in vars(section).items()
             if inspect.isfunction(value) and value.__module__ == section.__name__}

globals().update(FUNCTIONS)
BLOCK = values.BLOCK
