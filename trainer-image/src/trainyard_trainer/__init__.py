"""trainyard_trainer."""
