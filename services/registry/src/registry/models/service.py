"""Handlers of movement model commands and queries: one logic path behind the gRPC and HTTP doors.

Who may do what, checked on every object:
- admin writes every model; a unit officer writes only models hosted by its own unit (never community ones);
- province-wide readers (police, auditor, dic_operator, chairman_office, service, admin) read every model; a
  unit officer reads, lists and counts only its own unit's models.
"""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass, replace
from datetime import date

from d07.platform import audit
from d07.platform.auth import (
    ADMIN,
    PROVINCE_WIDE_READERS,
    UNIT_OFFICER,
    Principal,
    ensure_unit_access,
    require_roles,
)
from d07.platform.convert import parse_uuid
from d07.platform.db import Conn
from d07.platform.errors import FieldProblem, InvalidArgument, NotFound, PermissionDenied, ensure_version
from d07.platform.pagination import decode_cursor, encode_cursor, page_size
from d07.platform.uow import UnitOfWork
from registry.models import messages
from registry.models.domain import (
    CommunityHost,
    Host,
    HostInput,
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
    named_host,
    period,
    status_after_update,
    validate,
)
from registry.models.repository import ModelRepository

MODELS_TOPIC = "d07.registry.models.v1"
READERS = (*PROVINCE_WIDE_READERS, UNIT_OFFICER)


# Who writes (the HTTP door repeats this list in a route dependency: 403 before the body is validated).
WRITERS = (ADMIN, UNIT_OFFICER)  # a unit officer its own unit's models


class ModelsUnitOfWork(UnitOfWork):
    models: ModelRepository

    def bind(self, conn: Conn) -> None:
        self.models = ModelRepository(conn)


# --- commands and queries the doors build (ModelInput to create, ListModels: the domain's) ----------------


@dataclass(frozen=True)
class ListModelKinds:
    pass


@dataclass(frozen=True)
class GetModel:
    model_id: str


@dataclass(frozen=True)
class UpdateModel:
    model_id: str
    version: int
    input: ModelInput


@dataclass(frozen=True)
class ChangeModelStatus:
    model_id: str
    version: int
    status: str
    changed_on: date | None
    note: str = ""


@dataclass(frozen=True)
class CountModels:
    from_date: date | None
    to_date: date | None
    district_code: str = ""


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
    require_roles(principal, *WRITERS)
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


def _ensure_write_named(principal: Principal, host: HostInput, model_id: uuid.UUID | None = None) -> None:
    """The write check on the host the command names, before its body is validated (checked again on the
    validated host)."""
    named = named_host(host)
    if named is not None:
        _ensure_write(principal, named, model_id)


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


async def _draft(uow: ModelsUnitOfWork, cmd: ModelInput) -> tuple[ModelDraft, str]:
    """The valid fields and the district derived from the host (which must exist)."""
    draft = validate(cmd, kinds=await uow.models.kinds(), today=uow.today())
    if isinstance(draft.host, UnitHost):
        district = await uow.models.unit_district(unit_id=draft.host.unit_id)
        problem = FieldProblem("host.unit_id", f"no unit {draft.host.unit_id} in the registry")
    else:
        district = await uow.models.commune_district(commune_code=draft.host.commune_code)
        problem = FieldProblem("host.commune_code", f"unknown commune {draft.host.commune_code!r}")
    if district is None:
        raise InvalidArgument("the model's host does not exist", code="unknown_host", fields=[problem])
    return draft, district


async def _locked(uow: ModelsUnitOfWork, model_id: uuid.UUID) -> Model:
    model = await uow.models.get(model_id=model_id, for_update=True)
    if model is None:
        raise NotFound(
            f"no model {model_id}", code="model_not_found", resource_type="model", resource_id=str(model_id)
        )
    return model


async def _publish(
    uow: ModelsUnitOfWork,
    event: ModelCreated | ModelUpdated | ModelStatusChanged,
    *,
    action: str,
    principal: Principal,
    before: Model | None = None,
) -> None:
    """The audit row and the event of a change, in the change's transaction (`before`: the model as it was,
    for the old and new values of what changed)."""
    model = event.model
    details: dict[str, object] = {"name": model.name, "kind": model.kind, "version": model.version}
    if before is not None:
        details["changes"] = audit.changes(before, model)
    if isinstance(event, ModelStatusChanged):
        details["status"] = event.change.to_status.value
    await uow.audit(
        action=action,
        object_type="model",
        object_id=str(model.id),
        unit_id=str(model.unit_id) if model.unit_id else None,
        details=details,
    )
    await uow.publish(
        MODELS_TOPIC, key=str(model.id), subject=str(model.id), message=messages.event_to_pb(event, principal)
    )


# --- handlers -------------------------------------------------------------------------------------------


async def list_kinds(uow: ModelsUnitOfWork, query: ListModelKinds, principal: Principal) -> list[ModelKind]:
    require_roles(principal, *READERS)
    async with uow:
        return list((await uow.models.kinds()).values())


async def create_model(uow: ModelsUnitOfWork, cmd: ModelInput, principal: Principal) -> Model:
    require_roles(principal, *WRITERS)
    _ensure_write_named(principal, cmd.host)
    async with uow:
        draft, district = await _draft(uow, cmd)
        _ensure_write(principal, draft.host)
        model = await uow.models.add(
            model_id=uuid.uuid4(),
            draft=draft,
            district_code=district,
            status=initial_status(draft),
            actor=principal.subject,
        )
        await _publish(uow, ModelCreated(model), action="model.create", principal=principal)
    return model


async def get_model(
    uow: ModelsUnitOfWork, query: GetModel, principal: Principal
) -> tuple[Model, list[StatusChange]]:
    require_roles(principal, *READERS)
    uid = parse_uuid(query.model_id, "id", what="model id")
    async with uow:
        model = await uow.models.get(model_id=uid)
        if model is None:
            raise NotFound(
                f"no model {uid}", code="model_not_found", resource_type="model", resource_id=str(uid)
            )
        _ensure_read(principal, model)
        return model, await uow.models.history(model_id=uid)


async def update_model(uow: ModelsUnitOfWork, cmd: UpdateModel, principal: Principal) -> Model:
    """Replace the editable fields; the model as it is and as it will be must both be the caller's."""
    require_roles(principal, *WRITERS)
    uid = parse_uuid(cmd.model_id, "id", what="model id")
    _ensure_write_named(principal, cmd.input.host, uid)
    async with uow:
        current = await _locked(uow, uid)
        _ensure_write(principal, current.host, uid)
        ensure_version(cmd.version, current.version, what="model", object_id=uid)
        draft, district = await _draft(uow, cmd.input)
        _ensure_write(principal, draft.host, uid)
        first_change = await uow.models.first_later_change(model_id=uid)
        status, status_on = status_after_update(current, draft, first_later_change=first_change)
        if first_change is None:
            await uow.models.rewrite_registration(model_id=uid, status=status, on=status_on)
        model = await uow.models.update(
            model_id=uid, draft=draft, district_code=district, status=status, status_on=status_on
        )
        await _publish(uow, ModelUpdated(model), action="model.update", principal=principal, before=current)
    return model


async def change_status(uow: ModelsUnitOfWork, cmd: ChangeModelStatus, principal: Principal) -> Model:
    require_roles(principal, *WRITERS)
    uid = parse_uuid(cmd.model_id, "id", what="model id")
    status, changed_on = cmd.status, cmd.changed_on
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
    async with uow:
        current = await _locked(uow, uid)
        _ensure_write(principal, current.host, uid)
        ensure_version(cmd.version, current.version, what="model", object_id=uid)
        to = ModelStatus(status)
        check_transition(current, to, on=changed_on, today=uow.today())
        change = StatusChange(current.status, to, changed_on, " ".join(cmd.note.split()), principal.subject)
        model = await uow.models.set_status(model_id=uid, change=change)
        await _publish(
            uow, ModelStatusChanged(model, change), action="model.status", principal=principal, before=current
        )
    return model


async def list_models(
    uow: ModelsUnitOfWork, query: ListModels, principal: Principal
) -> tuple[list[Model], str]:
    """One page of the models the caller may see, and the token of the next page ('' at the end)."""
    require_roles(principal, *READERS)
    where = _scope(principal, filter_of(query))
    limit = page_size(query.page_size)
    fingerprint = {k: str(v) for k, v in asdict(where).items()}
    position = decode_cursor(query.page_token, filters=fingerprint)
    after = (
        (str(position[0]), parse_uuid(str(position[1]), "page_token", what="model id")) if position else None
    )
    async with uow:
        rows = await uow.models.list_models(where=where, after=after, limit=limit + 1)
    page = rows[:limit]
    token = ""
    if len(rows) > limit:
        last, key = page[-1]
        token = encode_cursor([key, str(last.id)], filters=fingerprint)
    return [m for m, _ in page], token


async def count_models(uow: ModelsUnitOfWork, query: CountModels, principal: Principal) -> ModelCounts:
    """Models built or consolidated in the period (domain.counts_in_period), of them in units and in
    communities. ListModels with the same period and district (and host_type) lists the records counted."""
    require_roles(principal, *READERS)
    within = period(query.from_date, query.to_date, required=True)
    where = _scope(principal, ModelFilter(district_code=query.district_code.strip(), period=within))
    async with uow:
        return await uow.models.count_models(where=where)
