"""Admin pages of data comparison (数据比对): rosters, runs, findings, verification, notices
and the dashboard.

Plain Django views rendered in the Wagtail admin (``review.wagtail_hooks`` registers them,
behind the admin login). Jurisdiction comes from :mod:`archive.access`:

* a run is visible to a user when its division lies within the user's, or contains it (a
  county sees the city's run, but only the findings of its own county);
* a finding is visible when its county lies within the user's division and its run is visible;
* anything else is a 404, written to the audit log.

Every page or export that shows personal data is written to the audit log.
"""

from django.urls import path

from review.views.dashboard import dashboard
from review.views.findings import (
    finding_detail,
    finding_list,
    finding_notify,
    finding_verify,
    finding_verify_bulk,
    verification_evidence,
    verification_reverse,
)
from review.views.notices import finding_notice, run_outreach
from review.views.rosters import roster_detail, roster_list
from review.views.runs import run_detail, run_list, run_new, run_status

urlpatterns = [
    path("", dashboard, name="review_dashboard"),
    path("rosters/", roster_list, name="review_rosters"),
    path("rosters/<int:pk>/", roster_detail, name="review_roster_detail"),
    path("runs/", run_list, name="review_runs"),
    path("runs/new/", run_new, name="review_run_new"),
    path("runs/<int:pk>/", run_detail, name="review_run_detail"),
    path("runs/<int:pk>/status/", run_status, name="review_run_status"),
    path("runs/<int:pk>/findings/", finding_list, name="review_findings"),
    path("runs/<int:pk>/outreach/", run_outreach, name="review_outreach"),
    path("findings/<int:pk>/", finding_detail, name="review_finding_detail"),
    path("findings/<int:pk>/verify/", finding_verify, name="review_finding_verify"),
    path("runs/<int:pk>/findings/verify/", finding_verify_bulk, name="review_findings_verify"),
    path("findings/<int:pk>/notify/", finding_notify, name="review_finding_notify"),
    path("findings/<int:pk>/notice/", finding_notice, name="review_finding_notice"),
    path(
        "verifications/<int:pk>/reverse/",
        verification_reverse,
        name="review_verification_reverse",
    ),
    path(
        "verifications/<int:pk>/evidence/",
        verification_evidence,
        name="review_verification_evidence",
    ),
]
