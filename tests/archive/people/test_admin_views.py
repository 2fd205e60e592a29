"""The audit log page: each administrator sees their own jurisdiction's log, with ID numbers
masked, and labels instead of codes."""

from __future__ import annotations

import pytest
from django.urls import reverse

from archive.access.audit import record
from archive.access.roles import ADMINISTRATOR

pytestmark = pytest.mark.django_db


def test_county_administrator_sees_only_their_countys_log(client, make_user):
    mine = make_user("clerk", "140425")
    theirs = make_user("neighbour", "140426")
    record(None, "view", obj_id="1", detail="本县查看 140425198001011235.pdf", user=mine)
    record(None, "view", obj_id="2", detail="邻县查看", user=theirs)
    client.force_login(make_user("countyadmin", "140425", role=ADMINISTRATOR))
    body = client.get(reverse("archive_audit_log")).content.decode()
    assert "本县查看 140425********1235.pdf" in body and "查看档案" in body
    assert "邻县查看" not in body and "140425198001011235" not in body
    csv = b"".join(
        client.get(reverse("archive_audit_log"), {"format": "csv"}).streaming_content
    ).decode()
    assert "本县查看" in csv and "邻县查看" not in csv


def test_city_administrator_sees_every_county_of_the_city(client, make_user):
    record(None, "view", obj_id="2", detail="邻县查看", user=make_user("neighbour", "140426"))
    client.force_login(make_user("cityadmin", "140400", role=ADMINISTRATOR))
    assert "邻县查看" in client.get(reverse("archive_audit_log")).content.decode()
