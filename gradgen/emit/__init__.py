"""Emission: a graph to a standalone Python/NumPy module (`module`, through the Jinja2 template
in ``templates/``), blocks as Python statements (`blocks`), names checked first (`name_check`)."""
