"""The data model and dataset formats: sample records, readers, writers and the registry."""

from cotpd.corpus.offline import set_offline_switches

set_offline_switches()  # every package imports corpus first: before any model library loads
