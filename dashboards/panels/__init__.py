"""Panel factories, one module per dashboard section."""
