"""trainyard_api."""
