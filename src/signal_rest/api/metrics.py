"""`/metrics`: the service's metrics in the Prometheus text format (see signal_rest.metrics)."""

from __future__ import annotations

from fastapi import APIRouter, Response

from signal_rest import metrics
from signal_rest.api.deps import BackendDep
from signal_rest.api.schemas import text
from signal_rest.backend import Backend

router = APIRouter(tags=["General"])


def _backend_kind(backend: Backend) -> str:
    if backend.is_sandbox:
        return "sandbox"
    return "supervised" if backend.supervisor is not None else "remote"


@router.get(
    "/metrics",
    summary="The service's metrics in the Prometheus text format",
    response_class=Response,
    responses=text("text/plain", "Prometheus text exposition format 0.0.4"),
)
async def scrape(backend: BackendDep) -> Response:
    backlog = await backend.inbox.store.backlog()
    expiry = backend.settings.consumer_expiry_hours * 3600
    consumers = await backend.inbox.consumers.states(stale_after=expiry)
    supervisor = backend.supervisor
    # No await from here on: what is set is what this scrape shows.
    metrics.observe_daemon(
        connected=backend.rpc.connected,
        restarts=supervisor.restarts if supervisor is not None else 0,
        backend=_backend_kind(backend),
    )
    metrics.observe_inbox(backlog)
    metrics.observe_consumers(consumers)
    if backend.webhooks is not None:
        metrics.observe_webhooks(backend.webhooks.backlog(consumers))
    return Response(metrics.exposition(), media_type=metrics.CONTENT_TYPE)
