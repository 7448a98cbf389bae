"""The data model and dataset formats: sample records, readers, writers and the registry."""

from cotpd.corpus.deepspeed_notice import move_deepspeed_cpu_notice
from cotpd.corpus.offline import set_offline_switches

set_offline_switches()  # every package imports corpus first: before any model library loads
move_deepspeed_cpu_notice()  # likewise before deepspeed is imported, by anything
