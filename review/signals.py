"""Signals other apps listen to (they sit above review and may not be imported from here)."""

from django.dispatch import Signal

#: Sent inside the transaction that stores a finished comparison run's findings (written with
#: bulk_create, which sends no post_save). Arguments: ``run`` (the ComparisonRun) and
#: ``previous`` (the run it was compared with, or None). The search index listens
#: (`search.sync`): findings change the ``open_finding`` flag of case files.
run_finished = Signal()
