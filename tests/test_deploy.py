"""The deployment files: Kubernetes manifests valid against the API's schemas (bundled with
``kubernetes-validate``: nothing is downloaded), and consistent with the server they run.

No container engine runs here, so the image itself is not built by the tests: what the
Dockerfile asks of the server (command, user, health check) is checked instead.
"""

from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from telephony.config import Settings
from telephony.drain import WIND_UP_GRACE_S, WIND_UP_MARGIN_S

DEPLOY = Path(__file__).resolve().parent.parent / "deploy"
KUBERNETES_VERSION = "1.33.0"
"""The Kubernetes release the manifests are checked against (autoscaling/v2, probes, preStop)."""
PRE_STOP_S = 10


def manifests() -> list[tuple[str, dict[str, Any]]]:
    found = []
    for path in sorted((DEPLOY / "kubernetes").glob("*.yaml")):
        for document in yaml.safe_load_all(path.read_text()):
            if document:
                found.append((f"{path.name}:{document['kind']}", document))
    return found


def by_kind(kind: str) -> dict[str, Any]:
    (found,) = [doc for _, doc in manifests() if doc["kind"] == kind]
    return found


@pytest.mark.parametrize(("name", "document"), manifests(), ids=[n for n, _ in manifests()])
def test_every_manifest_is_valid_against_the_kubernetes_schemas(
    name: str, document: dict[str, Any]
) -> None:
    kubernetes_validate.validate(document, KUBERNETES_VERSION, strict=True)


def test_the_grace_period_covers_the_pre_stop_hook_the_drain_budget_and_the_wind_up() -> None:
    pod = by_kind("Deployment")["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    env = {item["name"]: item.get("value") for item in container["env"]}
    budget = float(env["DRAIN_BUDGET_S"])
    assert budget == Settings.model_fields["drain_budget_s"].default
    assert container["lifecycle"]["preStop"]["exec"]["command"] == ["sleep", str(PRE_STOP_S)]
    needed = PRE_STOP_S + budget + WIND_UP_GRACE_S + WIND_UP_MARGIN_S
    assert needed <= pod["terminationGracePeriodSeconds"] <= needed + 120


def test_probes_and_ports_are_the_servers() -> None:
    (container,) = by_kind("Deployment")["spec"]["template"]["spec"]["containers"]
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["args"] == ["python", "-m", "telephony", "serve"]
    env = {item["name"]: item.get("value") for item in container["env"]}
    ports = {port["name"]: port["containerPort"] for port in container["ports"]}
    assert ports["metrics"] == int(env["METRICS_PORT"])
    hpa = by_kind("HorizontalPodAutoscaler")["spec"]["metrics"][0]["pods"]
    assert hpa["metric"]["name"] == "telephony_calls_active"
    assert float(hpa["target"]["averageValue"]) < int(env["MAX_CALLS"])
    annotations = by_kind("Ingress")["metadata"]["annotations"]
    assert int(annotations["nginx.ingress.kubernetes.io/proxy-read-timeout"]) >= 3600


def test_the_image_runs_serve_as_a_user_with_a_health_check() -> None:
    lines = [line.strip() for line in (DEPLOY / "Dockerfile").read_text().splitlines()]
    assert lines[-1] == 'CMD ["python", "-m", "telephony", "serve"]'
    users = [line.split()[1] for line in lines if line.startswith("USER ")]
    assert users and users[-1] not in ("root", "0")
    assert any(line.startswith("HEALTHCHECK") for line in lines)
    assert "/healthz" in (DEPLOY / "Dockerfile").read_text()


def test_compose_runs_the_image_on_postgresql_with_the_drain_in_its_grace() -> None:
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    server = compose["services"]["telephony"]
    assert server["environment"]["DATABASE_URL"].startswith("postgresql+asyncpg://")
    assert server["depends_on"]["postgres"]["condition"] == "service_healthy"
    grace_minutes = int(server["stop_grace_period"].removesuffix("m"))
    assert grace_minutes * 60 > float(server["environment"]["DRAIN_BUDGET_S"])
