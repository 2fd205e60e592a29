"""Every enrolled person gets their case file now (case files used to be created on the first
view of their page, so lists and completeness filters missed most people). Historical models
only: the rows start at completeness 0 with no checklist, and the nightly
``archive.refresh_completeness`` task computes their completeness (docs/archive.md)."""

from django.db import migrations


def open_missing(apps, schema_editor):
    Enrolment = apps.get_model("archive", "Enrolment")
    CaseFile = apps.get_model("archive", "CaseFile")
    pairs = Enrolment.objects.values_list("person_id", "county_id").distinct().order_by()
    existing = set(CaseFile.objects.values_list("person_id", "county_id"))
    fresh = [CaseFile(person_id=p, county_id=c) for p, c in pairs if (p, c) not in existing]
    CaseFile.objects.bulk_create(fresh, batch_size=2000, ignore_conflicts=True)


class Migration(migrations.Migration):
    dependencies = [("archive", "0004_appraisal_permission")]

    operations = [migrations.RunPython(open_missing, migrations.RunPython.noop)]
