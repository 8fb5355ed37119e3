"""Offline validation of the kustomize tree: every referenced file exists and every
workload keeps the platform's production discipline."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "k8s"


def _load(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


def _render(directory: Path) -> list[dict[str, Any]]:
    """Follows kustomization resources recursively (the subset of kustomize we use)."""
    kustomization = _load(directory / "kustomization.yaml")[0]
    docs: list[dict[str, Any]] = []
    for resource in kustomization.get("resources", []):
        target = (directory / resource).resolve()
        assert target.exists(), f"{directory}/kustomization.yaml names missing {resource}"
        docs += _render(target) if target.is_dir() else _load(target)
    return docs


@pytest.mark.parametrize("overlay", ["base", "overlays/production"])
def test_kustomizations_resolve(overlay: str) -> None:
    kinds = {d["kind"] for d in _render(K8S / overlay)}
    assert {"Deployment", "Service", "HorizontalPodAutoscaler"} <= kinds


def test_deployments_are_hardened_and_probed() -> None:
    docs = _render(K8S / "base")
    services = {d["metadata"]["name"]: d for d in docs if d["kind"] == "Service"}
    deployments = [d for d in docs if d["kind"] == "Deployment"]
    assert deployments
    for dep in deployments:
        pod = dep["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        for c in pod["containers"]:
            ctx = c["securityContext"]
            assert ctx["allowPrivilegeEscalation"] is False and ctx["readOnlyRootFilesystem"]
            assert ctx["capabilities"]["drop"] == ["ALL"]
            assert "grpc" in c["readinessProbe"] and "grpc" in c["livenessProbe"]
            assert c["resources"]["requests"]["cpu"] and c["resources"]["limits"]["memory"]
            env = {e["name"]: e for e in c["env"]}
            assert env["CREDIT_AUTH_MODE"]["value"] == "tokens"
            ports = {p["name"] for p in c["ports"]}
            svc = services[dep["metadata"]["name"]]
            assert {p["targetPort"] for p in svc["spec"]["ports"]} <= ports


def test_gateway_serves_http_grpc_and_metrics_and_reaches_both_services() -> None:
    docs = _render(K8S / "base")
    dep = next(d for d in docs if d["kind"] == "Deployment" and d["metadata"]["name"] == "gateway")
    container = dep["spec"]["template"]["spec"]["containers"][0]
    assert {p["name"]: p["containerPort"] for p in container["ports"]} == {
        "http": 8080, "grpc": 50053, "metrics": 9103}
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["GATEWAY_RECORDS_ADDRESS"] == "records:50051"
    assert env["GATEWAY_SCORING_ADDRESS"] == "scoring:50052"
    assert env["GATEWAY_SERVICE_TOKEN_FILE"].startswith("/etc/credit/gateway/")
    kinds = {d["kind"] for d in docs if d["metadata"]["name"] == "gateway"}
    assert {"Deployment", "Service", "HorizontalPodAutoscaler", "PodDisruptionBudget"} <= kinds


def test_scoring_shares_its_grade_database_and_follows_the_records_feed() -> None:
    docs = _render(K8S / "base")
    dep = next(d for d in docs if d["kind"] == "Deployment" and d["metadata"]["name"] == "scoring")
    env = {e["name"]: e for e in dep["spec"]["template"]["spec"]["containers"][0]["env"]}
    # Without these every replica would grade into its own SQLite file and never hear of a
    # change.
    assert env["SCORING_DATABASE_URL"]["valueFrom"]["secretKeyRef"]["name"] == "scoring-database"
    assert env["SCORING_RECORDS_ADDRESS"]["value"] == "records:50051"
    assert "secretKeyRef" in env["SCORING_RECORDS_TOKEN"]["valueFrom"]


def test_the_regrade_job_is_indexed_and_each_index_takes_its_shard() -> None:
    job = next(d for d in _render(K8S / "jobs" / "regrade") if d["kind"] == "Job")
    spec = job["spec"]
    assert spec["completionMode"] == "Indexed"
    container = spec["template"]["spec"]["containers"][0]
    assert container["command"] == ["python", "-m", "services.scoring.regrade"]
    assert container["args"] == ["--shard", f"$(JOB_COMPLETION_INDEX)/{spec['completions']}"]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    env = {e["name"] for e in container["env"]}
    assert {"SCORING_RECORDS_DATABASE_URL", "SCORING_DATABASE_URL"} <= env


def test_the_image_holds_every_package_the_services_import_and_no_dev_tokens() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    copied = {line.split()[1] for line in dockerfile.splitlines() if line.startswith("COPY ")}
    imported = set()
    for path in (ROOT / "services").rglob("*.py"):
        for line in path.read_text(encoding="utf-8").splitlines():
            words = line.split()
            if len(words) > 1 and words[0] in ("import", "from"):
                imported.add(words[1].split(".")[0])
    ours = {p.name for p in ROOT.iterdir() if (p / "__init__.py").is_file()} - {"tests"}
    assert imported & ours <= copied, imported & ours - copied
    assert "models" in copied and "config" not in copied  # config/ holds the dev tokens


def test_production_believes_forwarded_addresses_from_the_ingress_only() -> None:
    overlay = _load(K8S / "overlays" / "production" / "kustomization.yaml")[0]
    env = [e for p in overlay["patches"] if p["target"]["name"] == "gateway"
           for doc in [yaml.safe_load(p["patch"])] if isinstance(doc, dict)
           for c in doc["spec"]["template"]["spec"]["containers"] for e in c["env"]]
    (allowed,) = [e["value"] for e in env if e["name"] == "FORWARDED_ALLOW_IPS"]
    assert allowed not in ("127.0.0.1", "*") and "/" in allowed  # a network, not everyone


def _env_seconds(container: dict[str, Any], name: str) -> float:
    return float(next(e["value"] for e in container["env"] if e["name"] == name))


def test_pods_get_time_to_migrate_and_to_drain() -> None:
    """Liveness waits for a startup probe (migrations run before the port opens), and the
    termination grace covers preStop, the gRPC drain and, for the gateway, the HTTP worker."""
    for dep in (d for d in _render(K8S / "base") if d["kind"] == "Deployment"):
        name = dep["metadata"]["name"]
        pod = dep["spec"]["template"]["spec"]
        (container,) = pod["containers"]
        startup = container["startupProbe"]
        assert "grpc" in startup and startup["periodSeconds"] * startup["failureThreshold"] >= 300
        # Health checks count against the concurrency limit: a busy minute is no death.
        live = container["livenessProbe"]
        assert live["periodSeconds"] * live.get("failureThreshold", 3) >= 60
        pre_stop = float(container["lifecycle"]["preStop"]["exec"]["command"][1])
        drain = _env_seconds(container, f"{name.upper()}_SHUTDOWN_GRACE_SECONDS")
        http_worker = 10 if name == "gateway" else 0  # services/gateway/httpd.py
        assert pod["terminationGracePeriodSeconds"] > pre_stop + drain + http_worker, name


def test_the_regrade_job_runs_the_production_image() -> None:
    def images(directory: Path) -> list[dict[str, Any]]:
        return list(_load(directory / "kustomization.yaml")[0]["images"])

    assert images(K8S / "jobs" / "regrade") == images(K8S / "overlays" / "production")


def test_production_autoscalers_keep_the_production_replica_counts() -> None:
    overlay = _load(K8S / "overlays" / "production" / "kustomization.yaml")[0]
    set_to: dict[tuple[str, str], int] = {}  # (object name, field) → value the patch sets
    for p in overlay["patches"]:
        doc = yaml.safe_load(p["patch"])
        if isinstance(doc, list):  # JSON patches
            for op in doc:
                set_to[(p["target"]["name"], op["path"].rsplit("/", 1)[1])] = op["value"]
    replicas = {name: n for (name, field), n in set_to.items() if field == "replicas"}
    assert replicas
    for name, n in replicas.items():
        assert set_to.get((name, "minReplicas"), 0) >= n, name
