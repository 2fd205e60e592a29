"""Spot checks (抽查): drawing and storing a sample, assigning it, recording results.

The draw is `inspection.sampling` on the population of `inspection.population.select`; this
module stores it and everything people do with it afterwards. Every step is audited
(`archive.access.audit.record`).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from archive import access
from archive.access.audit import record
from archive.documents import ingest
from archive.models import Division
from inspection import population as populations
from inspection import sampling
from inspection.models import SpotCheck, SpotCheckItem

TOWNSHIP = "township"
UNKNOWN_TOWNSHIP = "未知乡镇"


class SpotCheckError(ValueError):
    """A spot check that cannot be made or a result that cannot be recorded (Chinese)."""


def create(
    *,
    division: Division,
    plan: sampling.SamplePlan,
    query: str = "",
    filters: dict[str, str] | None = None,
    stratify: str = "",
    seed: str | None = None,
    user=None,
    request=None,
) -> SpotCheck:
    """Freezes the population, works out the sample size, draws and stores the spot check.
    Raises SpotCheckError (empty population, bad plan, bad filter, seed too long)."""
    if stratify not in ("", TOWNSHIP):
        raise SpotCheckError("分层方式只能是按乡镇（township）。")
    seed = (seed or "").strip() or sampling.new_seed()
    if len(seed) > 64:
        raise SpotCheckError("随机种子不能超过 64 个字符。")
    try:
        filters = populations.validate_filters(filters or {})
    except populations.FilterError as error:
        raise SpotCheckError(str(error)) from error
    members = populations.select(query, division, filters, user)
    by_key = {key: (township, pk) for key, township, pk in members}
    try:
        size = sampling.sample_size(plan, len(by_key))
        drawn = sampling.draw(
            [(key, township) for key, (township, _pk) in by_key.items()],
            size.size,
            seed,
            stratify=stratify == TOWNSHIP,
        )
    except sampling.PlanError as error:
        raise SpotCheckError(str(error)) from error
    explanation = size.explanation
    if len(drawn.items) > size.size:
        explanation += f"按乡镇分层时每个乡镇至少 1 份，实际抽取 {len(drawn.items)} 份。"
    with transaction.atomic():
        spot_check = SpotCheck.objects.create(
            division=division,
            query=(query or "").strip(),
            filters=filters,
            plan=plan.kind,
            plan_params=plan.as_dict(),
            explanation=explanation,
            stratify=stratify,
            seed=seed,
            population=drawn.population,
            population_hash=drawn.population_hash,
            allocation=drawn.allocation if stratify else {},
            created_by=user if user is not None and user.is_authenticated else None,
        )
        SpotCheckItem.objects.bulk_create(
            SpotCheckItem(
                spot_check=spot_check,
                case_file_id=by_key[item.key][1],
                case_key=item.key,
                township_code=by_key[item.key][0],
                rank=item.rank,
                position=position,
            )
            for position, item in enumerate(drawn.items, start=1)
        )
        record(
            request,
            "spot_check_create",
            obj_type="inspection.SpotCheck",
            obj_id=str(spot_check.pk),
            detail=f"抽查 {division.code} 总体{drawn.population} 抽取{len(drawn.items)} "
            f"种子{seed} {explanation}",
            user=user,
        )
    return spot_check


def as_json(spot_check: SpotCheck) -> dict:
    """The shape of docs/commands.md: id, seed, population, population_hash, items (full ID numbers)."""
    items = spot_check.items.select_related("case_file__person").order_by("position")
    return {
        "id": spot_check.pk,
        "seed": spot_check.seed,
        "population": spot_check.population,
        "population_hash": spot_check.population_hash,
        "items": [
            {"id_number": i.case_file.person.id_number, "township": i.township_code} for i in items
        ],
    }


def visible(user):
    """Spot checks a user may open: those whose division lies within the user's."""
    return access.scope(SpotCheck.objects.all(), user, "division")


def visible_items(spot_check: SpotCheck, user):
    return access.scope(spot_check.items.all(), user, "case_file__county")


# --- Townships and progress ---------------------------------------------------------------------


def township_names(codes) -> dict[str, str]:
    names = Division.objects.names(codes)
    return {code: names.get(code, code) if code else UNKNOWN_TOWNSHIP for code in codes}


@dataclass
class Progress:
    township: str
    name: str
    total: int
    done: int
    failed: int

    @property
    def percent(self) -> int:
        return 100 * self.done // self.total if self.total else 100


def progress(items) -> list[Progress]:
    """Items done and failed per township (one query)."""
    rows = list(
        items.values("township_code")
        .annotate(
            total=Count("id"),
            done=Count("id", filter=~Q(result="")),
            failed=Count("id", filter=Q(result=SpotCheckItem.Result.FAIL)),
        )
        .order_by("township_code")
    )
    names = township_names([r["township_code"] for r in rows])
    return [
        Progress(r["township_code"], names[r["township_code"]], r["total"], r["done"], r["failed"])
        for r in rows
    ]


# --- Assigning and recording ------------------------------------------------------------------


def assignable_inspectors(user, division: Division):
    """Active users of the inspector role whose jurisdiction covers the division."""
    from django.contrib.auth import get_user_model

    from archive.access.roles import INSPECTOR

    users = get_user_model().objects.filter(is_active=True, groups__name=INSPECTOR).distinct()
    return [u for u in users.order_by("username") if access.covers(u, division.code)]


def assign(items, inspector, *, user, request=None) -> int:
    """Assigns items (already scoped to the acting user) to an inspector whose jurisdiction
    covers each of them; returns how many were assigned."""
    count, spot_check_id = 0, None
    now = timezone.now()
    with transaction.atomic():
        for item in items.select_related("case_file").select_for_update(of=("self",)):
            spot_check_id = item.spot_check_id
            if not access.covers(inspector, item.case_file.county_id):
                raise SpotCheckError(f"检查员 {inspector} 的辖区不包括第{item.position}份档案。")
            item.inspector, item.assigned_at = inspector, now
            item.save(update_fields=["inspector", "assigned_at"])
            count += 1
        if count:
            record(
                request,
                "spot_check_assign",
                obj_type="inspection.SpotCheck",
                obj_id=str(spot_check_id),
                detail=f"分配 {count} 份给 {inspector.get_username()}",
                user=user,
            )
    return count


EVIDENCE_TYPE = "other"


def check_result(answers: dict[str, bool], result: str, notes: str) -> None:
    """The checks a result must pass before anything is filed or recorded."""
    if result not in SpotCheckItem.Result.values:
        raise SpotCheckError("请选择检查结果（合格或不合格）。")
    missing = [label for field, label in SpotCheckItem.CHECKLIST if answers.get(field) is None]
    if missing:
        raise SpotCheckError(f"请回答检查清单：{'、'.join(missing)}")
    if result == SpotCheckItem.Result.FAIL and not notes.strip():
        raise SpotCheckError("不合格须填写检查说明。")
    if result == SpotCheckItem.Result.PASS and not all(
        answers[f] for f, _ in SpotCheckItem.CHECKLIST
    ):
        raise SpotCheckError("检查清单有“否”的项目，结果不能为合格。")


def record_result(
    item: SpotCheckItem,
    *,
    answers: dict[str, bool],
    result: str,
    notes: str,
    user,
    evidence: ingest.Received | list[ingest.Outcome] | None = None,
    request=None,
) -> SpotCheckItem:
    """Records the checklist and the result of one item. An evidence scan — received from the
    upload (filed here, through `archive.documents.ingest`), or the outcomes of a background
    ingestion that filed it in this transaction (``inspection/jobs.py``) — goes into the
    person's case file, linked from the item; a rejected scan rejects the whole result.
    不合格 needs a note saying why; an item recorded meanwhile is not recorded twice."""
    check_result(answers, result, notes)
    with transaction.atomic():
        locked = (
            SpotCheckItem.objects.select_for_update()
            .select_related("case_file__person")
            .get(pk=item.pk)
        )
        if locked.result:
            raise SpotCheckError("该对象已登记结果（可能是他人刚刚登记），未重复登记。")
        if isinstance(evidence, ingest.Received):
            evidence = ingest.ingest_received(evidence, evidence_target(locked), user, request)
        if evidence is not None:
            filed = [outcome for outcome in evidence if outcome.ok]
            if not filed:
                reason = evidence[0].message if evidence else "没有可归档的文件"
                raise SpotCheckError(f"佐证材料未能归档：{reason}")
            from archive.models import Document

            Document.objects.filter(pk=filed[0].document_id).update(
                title=f"{locked.case_file.person.name}抽查佐证材料（抽查 #{locked.spot_check_id}）"
            )
            locked.evidence_id = filed[0].document_id
        for field, _label in SpotCheckItem.CHECKLIST:
            setattr(locked, field, bool(answers[field]))
        locked.result = result
        locked.notes = notes.strip()
        locked.recorded_by = user
        locked.recorded_at = timezone.now()
        locked.save()
        spot_check = locked.spot_check
        open_left = spot_check.items.filter(result="").exists()
        status = SpotCheck.Status.OPEN if open_left else SpotCheck.Status.DONE
        if spot_check.status != status:
            SpotCheck.objects.filter(pk=spot_check.pk).update(status=status)
        record(
            request,
            "spot_check_result",
            obj_type="inspection.SpotCheckItem",
            obj_id=str(locked.pk),
            detail=f"抽查 #{locked.spot_check_id} 第{locked.position}份 "
            f"{locked.get_result_display()} {locked.notes}",
            user=user,
        )
    return locked


def evidence_target(item: SpotCheckItem) -> ingest.Target:
    """Where an item's evidence scan is filed: the person's case file, as 其他材料."""
    return ingest.Target(item.case_file, EVIDENCE_TYPE)


def results_summary(items) -> Counter:
    return Counter(items.values_list("result", flat=True))


# --- The report -------------------------------------------------------------------------------

REPORT_HEADERS = [
    "序号",
    "乡镇",
    "姓名",
    "公民身份号码",
    "县（区）",
    *[label for _f, label in SpotCheckItem.CHECKLIST],
    "检查结果",
    "检查说明",
    "检查员",
    "登记时间",
]


def _yes_no(value: bool | None) -> str:
    return "" if value is None else ("是" if value else "否")


def report_rows(spot_check: SpotCheck, items):
    """Rows of the XLSX report and the printable page, ID numbers masked as in lists."""
    items = items.select_related("case_file__person", "case_file__county", "inspector").order_by(
        "position"
    )
    names = township_names(set(items.values_list("township_code", flat=True)))
    yield REPORT_HEADERS
    for item in items.iterator(chunk_size=1000):
        person = item.case_file.person
        yield [
            item.position,
            names.get(item.township_code, UNKNOWN_TOWNSHIP),
            person.name,
            person.masked_id,
            item.case_file.county.name,
            *[_yes_no(getattr(item, f)) for f, _ in SpotCheckItem.CHECKLIST],
            item.get_result_display() if item.result else "未检查",
            item.notes,
            item.inspector.get_username() if item.inspector else "",
            timezone.localtime(item.recorded_at).strftime("%Y-%m-%d %H:%M")
            if item.recorded_at
            else "",
        ]
