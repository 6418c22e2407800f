"""trainyard_runstore."""
