"""Every table and view oppchain creates, one module per domain."""
