"""The front end: source text to syntax (`lexer`, `parser`, `syntax`) and syntax to a `Graph`
(`lower`, with `scopes`). Errors name the file, line and column (`gradgen.errors`)."""
