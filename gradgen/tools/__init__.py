"""The tools around the compiler: every route side by side (`compare`), the gradient checked
(`check`, with `differences`), their reports (`report`), the points they evaluate at
(`points`), trace tables (`trace`), pictures (`graphviz`), and what each command of the command
line does (`commands`, reading and writing through `files`)."""
