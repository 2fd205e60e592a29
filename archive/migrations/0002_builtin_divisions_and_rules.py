"""Ships the 长治市 division tree and the Shanxi 2023 rule set as data."""

from django.db import migrations


def load(apps, schema_editor):
    from core.divisions import BUILT_IN
    from core.eligibility import SHANXI_2023

    Division = apps.get_model("archive", "Division")
    for row in BUILT_IN:
        Division.objects.update_or_create(
            code=row.code,
            defaults={"name": row.name, "level": row.level, "parent_id": row.parent},
        )
    for row in BUILT_IN:
        if row.successor:
            Division.objects.filter(code=row.code).update(successor_id=row.successor)

    RuleSetVersion = apps.get_model("archive", "RuleSetVersion")
    if not RuleSetVersion.objects.exists():
        RuleSetVersion.objects.create(
            name=SHANXI_2023.name,
            effective_from=SHANXI_2023.effective_from,
            legal_basis=SHANXI_2023.legal_basis,
            data=SHANXI_2023.to_dict(),
        )


class Migration(migrations.Migration):
    dependencies = [("archive", "0001_initial")]
    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
