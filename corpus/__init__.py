"""The data model and dataset formats: sample records, readers, writers and the registry."""
