"""trainyard_operator."""
