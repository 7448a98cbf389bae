"""The run config, the run directory and the `cotpd` command."""
