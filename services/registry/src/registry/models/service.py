"""Handlers of movement model commands and queries: one logic path behind the gRPC and HTTP doors.

Who may do what, checked on every object:
- admin writes every model; a unit officer writes only models hosted by its own unit (never community ones);
- province-wide readers (police, auditor, dic_operator, chairman_office, service, admin) read every model; a
  unit officer reads, lists and counts only its own unit's models.
"""

from __future__ import annotations

import uuid
from dataclasses import asdict, replace
from datetime import date, datetime, timedelta, timezone

import asyncpg

from d07.platform import audit
from d07.platform.auth import (
    ADMIN,
    PROVINCE_WIDE_READERS,
    UNIT_OFFICER,
    Principal,
    ensure_unit_access,
    require_roles,
)
from d07.platform.db import Conn
from d07.platform.errors import Conflict, FieldProblem, InvalidArgument, NotFound, PermissionDenied
from d07.platform.events import outbox
from d07.platform.pagination import decode_cursor, encode_cursor, page_size
from registry.models import messages
from registry.models import repository as repo
from registry.models.domain import (
    CommunityHost,
    Host,
    ListModels,
    Model,
    ModelCounts,
    ModelCreated,
    ModelDraft,
    ModelFilter,
    ModelInput,
    ModelKind,
    ModelStatus,
    ModelStatusChanged,
    ModelUpdated,
    StatusChange,
    UnitHost,
    check_transition,
    filter_of,
    initial_status,
    period,
    status_after_update,
    validate,
)

SOURCE = "/d07/registry"
MODELS_TOPIC = "d07.registry.models.v1"
VIETNAM = timezone(timedelta(hours=7))
READERS = (*PROVINCE_WIDE_READERS, UNIT_OFFICER)


def today() -> date:
    """Today in Vietnam: the dates of models are Vietnamese calendar days."""
    return datetime.now(VIETNAM).date()


def parse_id(value: str, field: str = "id") -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except (ValueError, AttributeError, TypeError):
        raise InvalidArgument(
            "not a model id", code="invalid_id", fields=[FieldProblem(field, "a UUID is expected")]
        ) from None


# --- authorisation --------------------------------------------------------------------------------------


def _ensure_read(principal: Principal, model: Model) -> None:
    if isinstance(model.host, UnitHost):
        ensure_unit_access(principal, str(model.host.unit_id))
    elif not principal.has_any(*PROVINCE_WIDE_READERS):
        raise PermissionDenied(
            "community models are read by province-wide roles only",
            code="community_model",
            resource_type="model",
            resource_id=str(model.id),
        )


def _ensure_write(principal: Principal, host: Host, model_id: uuid.UUID | None = None) -> None:
    """Admin writes every model; a unit officer only a model hosted by its own unit."""
    require_roles(principal, ADMIN, UNIT_OFFICER)
    if principal.has_any(ADMIN):
        return
    if isinstance(host, CommunityHost):
        raise PermissionDenied(
            "a unit officer cannot write community models",
            code="community_model",
            resource_type="model",
            resource_id=str(model_id or ""),
        )
    if principal.unit_id != str(host.unit_id):
        raise PermissionDenied(
            "a unit officer reaches only its own unit",
            code="other_unit",
            resource_type="unit",
            resource_id=str(host.unit_id),
        )


def _scope(principal: Principal, where: ModelFilter) -> ModelFilter:
    """The filter narrowed to what the caller may see: a unit officer sees its own unit's models only."""
    require_roles(principal, *READERS)
    if not principal.is_unit_officer_only:
        return where
    ensure_unit_access(principal, str(where.unit_id) if where.unit_id else principal.unit_id)
    try:
        own = uuid.UUID(str(principal.unit_id))
    except ValueError:
        raise PermissionDenied("the token's unit is not a unit id", code="other_unit") from None
    return replace(where, unit_id=own)


# --- helpers --------------------------------------------------------------------------------------------


async def _draft(conn: Conn, cmd: ModelInput) -> tuple[ModelDraft, str]:
    """The valid fields and the district derived from the host (which must exist)."""
    draft = validate(cmd, kinds=await repo.kinds(conn), today=today())
    if isinstance(draft.host, UnitHost):
        district = await repo.unit_district(conn, unit_id=draft.host.unit_id)
        problem = FieldProblem("host.unit_id", f"no unit {draft.host.unit_id} in the registry")
    else:
        district = await repo.commune_district(conn, commune_code=draft.host.commune_code)
        problem = FieldProblem("host.commune_code", f"unknown commune {draft.host.commune_code!r}")
    if district is None:
        raise InvalidArgument("the model's host does not exist", code="unknown_host", fields=[problem])
    return draft, district


async def _locked(conn: Conn, model_id: uuid.UUID) -> Model:
    model = await repo.get(conn, model_id=model_id, for_update=True)
    if model is None:
        raise NotFound(
            f"no model {model_id}", code="model_not_found", resource_type="model", resource_id=str(model_id)
        )
    return model


def _check_version(model: Model, version: int) -> None:
    if version != model.version:
        raise Conflict(
            f"the model is at version {model.version}, not {version}: read it again",
            code="stale_version",
            resource_type="model",
            resource_id=str(model.id),
        )


async def _publish(
    conn: Conn, event: ModelCreated | ModelUpdated | ModelStatusChanged, *, action: str, principal: Principal
) -> None:
    """The audit row and the event of a change, in the change's transaction."""
    model = event.model
    details: dict[str, object] = {"name": model.name, "kind": model.kind, "version": model.version}
    if isinstance(event, ModelStatusChanged):
        details["status"] = event.change.to_status.value
    await audit.record(
        conn,
        action=action,
        object_type="model",
        object_id=str(model.id),
        unit_id=str(model.unit_id) if model.unit_id else None,
        details=details,
    )
    await outbox.add(
        conn,
        topic=MODELS_TOPIC,
        key=str(model.id),
        source=SOURCE,
        subject=str(model.id),
        message=messages.event_to_pb(event, principal),
    )


# --- handlers -------------------------------------------------------------------------------------------


async def list_kinds(pool: asyncpg.Pool, *, principal: Principal) -> list[ModelKind]:
    require_roles(principal, *READERS)
    async with pool.acquire() as conn:
        return list((await repo.kinds(conn)).values())


async def create_model(pool: asyncpg.Pool, cmd: ModelInput, *, principal: Principal) -> Model:
    require_roles(principal, ADMIN, UNIT_OFFICER)
    async with pool.acquire() as conn, conn.transaction():
        draft, district = await _draft(conn, cmd)
        _ensure_write(principal, draft.host)
        model = await repo.add(
            conn,
            model_id=uuid.uuid4(),
            draft=draft,
            district_code=district,
            status=initial_status(draft),
            actor=principal.subject,
        )
        await _publish(conn, ModelCreated(model), action="model.create", principal=principal)
    return model


async def get_model(
    pool: asyncpg.Pool, model_id: str, *, principal: Principal
) -> tuple[Model, list[StatusChange]]:
    uid = parse_id(model_id)
    require_roles(principal, *READERS)
    async with pool.acquire() as conn:
        model = await repo.get(conn, model_id=uid)
        if model is None:
            raise NotFound(
                f"no model {uid}", code="model_not_found", resource_type="model", resource_id=str(uid)
            )
        _ensure_read(principal, model)
        return model, await repo.history(conn, model_id=uid)


async def update_model(
    pool: asyncpg.Pool, model_id: str, version: int, cmd: ModelInput, *, principal: Principal
) -> Model:
    """Replace the editable fields; the model as it is and as it will be must both be the caller's."""
    uid = parse_id(model_id)
    require_roles(principal, ADMIN, UNIT_OFFICER)
    async with pool.acquire() as conn, conn.transaction():
        current = await _locked(conn, uid)
        _ensure_write(principal, current.host, uid)
        _check_version(current, version)
        draft, district = await _draft(conn, cmd)
        _ensure_write(principal, draft.host, uid)
        first_change = await repo.first_later_change(conn, model_id=uid)
        status, status_on = status_after_update(current, draft, first_later_change=first_change)
        if first_change is None:
            await repo.rewrite_registration(conn, model_id=uid, status=status, on=status_on)
        model = await repo.update(
            conn, model_id=uid, draft=draft, district_code=district, status=status, status_on=status_on
        )
        await _publish(conn, ModelUpdated(model), action="model.update", principal=principal)
    return model


async def change_status(
    pool: asyncpg.Pool,
    model_id: str,
    version: int,
    status: str,
    *,
    changed_on: date | None,
    note: str = "",
    principal: Principal,
) -> Model:
    uid = parse_id(model_id)
    require_roles(principal, ADMIN, UNIT_OFFICER)
    if status not in {s.value for s in ModelStatus}:
        raise InvalidArgument(
            "unknown status", code="invalid_status",
            fields=[FieldProblem("status", "built, consolidated, effective or inactive")],
        )  # fmt: skip
    if changed_on is None:
        raise InvalidArgument(
            "the date of the change is required", code="invalid_status_change",
            fields=[FieldProblem("changed_on", "the date the status took effect is required")],
        )  # fmt: skip
    async with pool.acquire() as conn, conn.transaction():
        current = await _locked(conn, uid)
        _ensure_write(principal, current.host, uid)
        _check_version(current, version)
        to = ModelStatus(status)
        check_transition(current, to, on=changed_on, today=today())
        change = StatusChange(current.status, to, changed_on, " ".join(note.split()), principal.subject)
        model = await repo.set_status(conn, model_id=uid, change=change)
        await _publish(conn, ModelStatusChanged(model, change), action="model.status", principal=principal)
    return model


async def list_models(
    pool: asyncpg.Pool, query: ListModels, *, principal: Principal
) -> tuple[list[Model], str]:
    """One page of the models the caller may see, and the token of the next page ('' at the end)."""
    where = _scope(principal, filter_of(query))
    limit = page_size(query.page_size)
    fingerprint = {k: str(v) for k, v in asdict(where).items()}
    position = decode_cursor(query.page_token, filters=fingerprint)
    after = (str(position[0]), parse_id(str(position[1]), "page_token")) if position else None
    async with pool.acquire() as conn:
        rows = await repo.list_models(conn, where=where, after=after, limit=limit + 1)
    page = rows[:limit]
    token = ""
    if len(rows) > limit:
        last, key = page[-1]
        token = encode_cursor([key, str(last.id)], filters=fingerprint)
    return [m for m, _ in page], token


async def count_models(
    pool: asyncpg.Pool,
    *,
    from_date: date | None,
    to_date: date | None,
    district_code: str = "",
    principal: Principal,
) -> ModelCounts:
    """Models built or consolidated in the period (domain.counts_in_period), of them in units and in
    communities. ListModels with the same period and district (and host_type) lists the records counted."""
    within = period(from_date, to_date, required=True)
    where = _scope(principal, ModelFilter(district_code=district_code.strip(), period=within))
    async with pool.acquire() as conn:
        return await repo.count_models(conn, where=where)
