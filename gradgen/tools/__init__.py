"""The tools around the compiler: every route side by side and the gradient checked
(`compare`, with `differences`), trace tables (`trace`) and pictures (`graphviz`)."""
