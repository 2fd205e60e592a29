"""Jurisdiction: the one place that decides which records a user may see and touch.

Every view, export, download, search and command run on someone's behalf filters through
`scope()`. A user belongs to one division (a county, a city or the province) and sees records
whose county lies inside it. A superuser without a division is a system administrator and sees
everything; any other user without a division sees nothing.
"""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Q, QuerySet
from django.http import Http404

from core.divisions import covering_codes, division_prefix

ALL = ""  # the prefix every code starts with


def user_prefix(user: AbstractBaseUser | AnonymousUser) -> str | None:
    """The division-code prefix of the user's jurisdiction; ALL for system administrators;
    None for users who may see no records at all."""
    if not user.is_authenticated:
        return None
    profile = getattr(user, "subsidy_profile", None)
    if profile is not None:
        return division_prefix(profile.division_id)
    return ALL if user.is_superuser else None


def scope(queryset: QuerySet, user, county_field: str) -> QuerySet:
    """Restricts a queryset to the user's jurisdiction, given the path to the county foreign
    key (e.g. "county" on Person, "person__county" on Certificate). Filtering on the
    division's primary key needs no join."""
    prefix = user_prefix(user)
    if prefix is None:
        return queryset.none()
    if prefix == ALL:
        return queryset
    return queryset.filter(Q(**{f"{county_field}__code__startswith": prefix}))


def scope_within_or_above(queryset: QuerySet, user, division_field: str) -> QuerySet:
    """Restricts records made for a division (a comparison run, a roster upload) to those the
    user may see: made for a division inside the user's jurisdiction, or for one that
    contains it (a county clerk sees the city's run, which covers the county)."""
    prefix = user_prefix(user)
    if prefix is None:
        return queryset.none()
    if prefix == ALL:
        return queryset
    above = covering_codes(user.subsidy_profile.division_id)[1:]
    return queryset.filter(
        Q(**{f"{division_field}__code__startswith": prefix})
        | Q(**{f"{division_field}_id__in": above})
    )


def covers(user, county_code: str) -> bool:
    prefix = user_prefix(user)
    return prefix is not None and county_code.startswith(prefix)


def people_in_scope(user, id_numbers) -> dict:
    """The people with these ID numbers whose case-file county lies inside the user's
    jurisdiction, as {id_number: (person, county code)}. Every lookup by number — a number
    typed in, read by OCR, or found in a ZIP member's name — goes through here, so a number
    never reveals or proposes a person of another county."""
    from archive.casefiles import default_county
    from archive.models import Person

    wanted = {str(n) for n in id_numbers if n}
    if not wanted or user is None or user_prefix(user) is None:
        return {}
    found = {}
    for person in Person.objects.filter(id_number__in=wanted).select_related("county"):
        county = default_county(person)
        if covers(user, county):
            found[person.id_number] = (person, county)
    return found


def person_in_scope(user, id_number: str):
    """(person, case-file county) for one ID number inside the user's jurisdiction, or None."""
    return people_in_scope(user, [id_number]).get(str(id_number))


def assignable_divisions(user) -> QuerySet:
    """The current divisions inside the user's jurisdiction: the only ones they may give
    another user, so nobody hands out a view wider than their own."""
    from archive.models import Division

    prefix = user_prefix(user)
    divisions = Division.objects.filter(successor__isnull=True)
    return divisions.none() if prefix is None else divisions.filter(code__startswith=prefix)


def manageable_users(user, queryset: QuerySet | None = None) -> QuerySet:
    """The users an administrator may see and change in user management (用户管理): those
    assigned a division inside their jurisdiction, never a superuser or staff account, and
    none holding a group they could not grant themselves — so nobody changes, or resets the
    password of, someone above them. Superusers manage everyone."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    from archive.access.roles import grantable_roles

    users = get_user_model()._default_manager.all() if queryset is None else queryset
    if not user.is_authenticated:
        return users.none()
    if user.is_superuser:
        return users
    above = Group.objects.exclude(name__in=grantable_roles(user))
    scoped = scope(users, user, "subsidy_profile__division").filter(
        is_superuser=False, is_staff=False
    )
    return scoped.exclude(groups__in=above)


def get_scoped_or_404(queryset: QuerySet, user, county_field: str, request=None, **lookup):
    """Fetches one record inside the user's jurisdiction. Outside it the record does not
    exist for them (404, not 403, so guessing URLs reveals nothing), and the attempt is
    written to the audit log."""
    from archive.access.audit import record

    try:
        return scope(queryset, user, county_field).get(**lookup)
    except queryset.model.DoesNotExist:
        record(
            request,
            "denied",
            obj_type=queryset.model._meta.label,
            obj_id=str(next(iter(lookup.values()), "")),
            detail="记录不存在或不在本辖区",
            user=user,
        )
        raise Http404("记录不存在或不在您的辖区内。") from None
