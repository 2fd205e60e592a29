"""Removing the demo people (`demo_data --remove`) also removes what spot checks and annual
reviews recorded about them, which would otherwise protect their case files and enrolments."""

from __future__ import annotations

from inspection.models import ReviewCampaign, ReviewTask, SpotCheck, SpotCheckItem


def remove_inspection_of(people) -> None:
    """Deletes the spot-check items and review tasks of ``people`` (a Person queryset), then
    the spot checks and campaigns left empty."""
    SpotCheckItem.objects.filter(case_file__person__in=people).delete()
    ReviewTask.objects.filter(person__in=people).delete()
    SpotCheck.objects.filter(items__isnull=True).delete()
    ReviewCampaign.objects.filter(tasks__isnull=True).delete()
