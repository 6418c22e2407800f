"""Blokus rules and environments; the public names are re-exported by ``trainyard_trainer.envs``."""
