"""`helm lint` and `helm template` of charts/trainyard with its default values and every ci/*.yaml:
each object valid for Kubernetes 1.37, pods hardened, and the wiring between the chart's objects
(Secrets, claims, selectors, ports) and the operator's settings and Job builder consistent."""

from __future__ import annotations

from pathlib import Path

import kubernetes_validate
import pytest
import yaml

from tests.chart.helm import CHART, CI_VALUES, REPO, env_of, find, run_helm, template, values_args

pytestmark = [pytest.mark.chart, pytest.mark.timeout(300)]

K8S_VERSION = "1.37"
VALUES = [None, *CI_VALUES]
VALUE_IDS = ["default", *(p.stem for p in CI_VALUES)]
PROMETHEUS_OPERATOR_GROUP = "monitoring.coreos.com"


@pytest.fixture(scope="module", params=VALUES, ids=VALUE_IDS)
def rendered(request, helm) -> tuple[Path | None, list[dict]]:
    return request.param, template(helm, *values_args(request.param))


def pod_templates(objects: list[dict]) -> dict[str, dict]:
    return {o["metadata"]["name"]: o["spec"]["template"] for o in objects
            if o["kind"] in ("Deployment", "StatefulSet", "DaemonSet", "Job")}


def containers(objects: list[dict], name_suffix: str) -> dict:
    (tpl,) = [t for n, t in pod_templates(objects).items() if n.endswith(name_suffix)]
    return tpl["spec"]["containers"][0]


# ------------------------------------------------------------------ helm itself


@pytest.mark.parametrize("values_file", VALUES, ids=VALUE_IDS)
def test_helm_lint_strict(helm, values_file):
    out = run_helm(helm, "lint", "--strict", str(CHART), *values_args(values_file))
    assert "0 chart(s) failed" in out


def test_ci_values_cover_the_issue_matrix():
    names = {p.stem for p in CI_VALUES}
    assert {"external-mongodb-values", "gpu-values", "monitors-values"} <= names, names


# ------------------------------------------------------------------ Kubernetes 1.37 schemas


def test_every_object_is_valid_kubernetes_1_37(rendered):
    _, objects = rendered
    checked = []
    for obj in objects:
        if obj["apiVersion"].startswith(PROMETHEUS_OPERATOR_GROUP + "/"):
            continue  # not in the Kubernetes schemas: see test_prometheus_operator_objects
        try:
            kubernetes_validate.validate(obj, K8S_VERSION, strict=True)
        except kubernetes_validate.ValidationError as err:
            path = "/".join(str(p) for p in err.path)
            pytest.fail(f"{obj['kind']} {obj['metadata']['name']}: {path}: {err.message}")
        checked.append(obj["kind"])
    assert "Deployment" in checked and "CustomResourceDefinition" in checked


def test_every_namespaced_object_names_its_namespace(rendered):
    values_file, objects = rendered
    dashboard_ns = (yaml.safe_load(values_file.read_text()) if values_file else {}).get("grafana", {}).get(
        "dashboard", {}).get("namespace")
    for obj in objects:
        if obj["kind"] == "CustomResourceDefinition":
            continue
        expected = dashboard_ns if obj["metadata"]["name"].endswith("-dashboard") and dashboard_ns else "training"
        assert obj["metadata"].get("namespace") == expected, obj["metadata"]["name"]


def test_prometheus_operator_objects(helm):
    pytest.skip("ServiceMonitor/PodMonitor are not schema-validated: the chart does not ship the Prometheus "
                "Operator's CRDs; test_monitors_select_the_chart_s_pods checks what they select and scrape")


# ------------------------------------------------------------------ security


def test_pods_run_as_non_root_with_read_only_root_and_no_capabilities(rendered):
    _, objects = rendered
    templates = pod_templates(objects)
    assert templates
    for name, tpl in templates.items():
        pod = tpl["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True, name
        assert pod["securityContext"]["runAsUser"] > 0, name
        assert pod["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault", name
        for c in pod["containers"] + pod.get("initContainers", []):
            sc = c["securityContext"]
            assert sc["readOnlyRootFilesystem"] is True, (name, c["name"])
            assert sc["allowPrivilegeEscalation"] is False, (name, c["name"])
            assert sc["capabilities"]["drop"] == ["ALL"], (name, c["name"])
            assert "add" not in sc["capabilities"], (name, c["name"])
        # only the operator talks to the Kubernetes API
        if not name.endswith("-operator"):
            assert pod["automountServiceAccountToken"] is False, name


def test_network_policy_lets_only_api_operator_and_trainers_reach_mongodb(helm):
    from trainyard_operator.builders import labels as trainer_labels
    from trainyard_operator.spec import TrainingRun, TrainingRunSpec

    objects = template(helm)
    policy = find(objects, "NetworkPolicy")
    mongodb = find(objects, "StatefulSet")
    pod_labels = mongodb["spec"]["template"]["metadata"]["labels"]
    assert policy["spec"]["policyTypes"] == ["Ingress"]
    assert policy["spec"]["podSelector"]["matchLabels"].items() <= pod_labels.items()
    (rule,) = policy["spec"]["ingress"]
    assert rule["ports"] == [{"protocol": "TCP", "port": "mongodb"}]
    assert [p["name"] for p in mongodb["spec"]["template"]["spec"]["containers"][0]["ports"]] == ["mongodb"]
    selectors = [peer["podSelector"]["matchLabels"] for peer in rule["from"]]
    assert all(set(peer) == {"podSelector"} for peer in rule["from"])  # no namespace-wide or IP peers

    run = TrainingRun(name="r", namespace="training", uid="u", spec=TrainingRunSpec(agent_id="a"))
    admitted = {
        "api": pod_templates(objects)["trainyard-api"]["metadata"]["labels"],
        "operator": pod_templates(objects)["trainyard-operator"]["metadata"]["labels"],
        "trainer": trainer_labels(run),
    }
    for who, labels in admitted.items():
        assert any(sel.items() <= labels.items() for sel in selectors), f"{who} pods cannot reach MongoDB"
    assert not any(sel.items() <= pod_labels.items() for sel in selectors), "the policy admits MongoDB itself"


# ------------------------------------------------------------------ operator RBAC (the install test checks it live)


def test_operator_rbac_is_namespaced_and_never_touches_secrets(rendered):
    _, objects = rendered
    assert not [o for o in objects if o["kind"] in ("ClusterRole", "ClusterRoleBinding")]
    role = find(objects, "Role")
    for rule in role["rules"]:
        assert "secrets" not in rule["resources"] and "*" not in rule["resources"], rule
        assert "*" not in rule["verbs"], rule
        if rule["resources"] in (["pods"], ["pods/log"]):
            assert set(rule["verbs"]) <= {"get", "list", "watch"}, rule
    binding = find(objects, "RoleBinding")
    deployment = find(objects, "Deployment", "trainyard-operator")
    assert binding["roleRef"]["name"] == role["metadata"]["name"]
    assert binding["subjects"] == [{"kind": "ServiceAccount", "namespace": "training",
                                    "name": deployment["spec"]["template"]["spec"]["serviceAccountName"]}]


# ------------------------------------------------------------------ MongoDB wiring


def test_mongodb_uri_reaches_operator_and_api_from_a_secret(rendered):
    values_file, objects = rendered
    values = yaml.safe_load(values_file.read_text()) if values_file else {}
    mongodb = values.get("mongodb", {})
    external_secret = mongodb.get("external", {}).get("existingSecret")
    secret_name = external_secret or "trainyard-mongodb"
    key = mongodb.get("external", {}).get("existingSecretKey", "uri") if external_secret else "uri"
    for suffix in ("-operator", "-api"):
        env = env_of(containers(objects, suffix))
        assert env["MONGODB_URI"]["valueFrom"]["secretKeyRef"] == {"name": secret_name, "key": key}, suffix
        assert env["MONGODB_DB_NAME"]["value"] == mongodb.get("database", "trainyard")
    secrets = [o for o in objects if o["kind"] == "Secret"]
    if external_secret:
        assert not secrets  # the user's Secret is used as it is
    else:
        (secret,) = secrets
        assert secret["metadata"]["name"] == secret_name and "uri" in secret["data"]
    has_statefulset = any(o["kind"] == "StatefulSet" for o in objects)
    assert has_statefulset == mongodb.get("enabled", True)


def test_in_chart_mongodb_uses_an_application_user_and_keeps_its_secret(helm):
    import base64

    objects = template(helm)
    secret = find(objects, "Secret", "trainyard-mongodb")
    data = {k: base64.b64decode(v).decode() for k, v in secret["data"].items()}
    assert secret["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"
    assert len(data["password"]) >= 24 and data["password"] != data["root-password"]
    assert data["uri"] == (f"mongodb://trainyard:{data['password']}@trainyard-mongodb.training.svc:27017/"
                           "trainyard?authSource=trainyard")
    sts = find(objects, "StatefulSet")
    env = env_of(sts["spec"]["template"]["spec"]["containers"][0])
    assert env["MONGO_INITDB_APP_PASSWORD"]["valueFrom"]["secretKeyRef"] == {"name": "trainyard-mongodb",
                                                                          "key": "password"}
    init = find(objects, "ConfigMap", "trainyard-mongodb-init")["data"]["create-app-user.js"]
    assert "readWrite" in init and "MONGO_INITDB_APP_PASSWORD" in init
    template_text = (CHART / "templates" / "mongodb" / "secret.yaml").read_text()
    assert 'lookup "v1" "Secret"' in template_text  # the live upgrade check is in test_install.py


def test_external_mongodb_without_uri_or_secret_is_refused(helm):
    with pytest.raises(AssertionError, match="mongodb.external.uri or mongodb.external.existingSecret"):
        template(helm, "--set", "mongodb.enabled=false")


# ------------------------------------------------------------------ checkpoints


def test_api_mounts_checkpoints_read_only_where_it_reads_them(rendered):
    values_file, objects = rendered
    values = yaml.safe_load(values_file.read_text()) if values_file else {}
    claim = values.get("checkpoints", {}).get("existingClaim") or "trainyard-checkpoints"
    api = pod_templates(objects)["trainyard-api"]["spec"]
    (volume,) = [v for v in api["volumes"] if "persistentVolumeClaim" in v]
    assert volume["persistentVolumeClaim"] == {"claimName": claim, "readOnly": True}
    (mount,) = [m for m in api["containers"][0]["volumeMounts"] if m["name"] == volume["name"]]
    assert mount["readOnly"] is True
    assert env_of(api["containers"][0])["TRAINYARD_API_CHECKPOINT_ROOT"]["value"] == mount["mountPath"]
    pvcs = [o for o in objects if o["kind"] == "PersistentVolumeClaim"]
    if values.get("checkpoints", {}).get("existingClaim"):
        assert not pvcs
    else:
        (pvc,) = pvcs
        assert pvc["metadata"]["name"] == claim
        assert pvc["spec"]["accessModes"] == ["ReadWriteMany"]
        assert pvc["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"
        storage_class = values.get("checkpoints", {}).get("storageClass")
        assert pvc["spec"].get("storageClassName") == storage_class


# ------------------------------------------------------------------ the operator's settings and its Jobs


def operator_settings_from(objects: list[dict], monkeypatch):
    from trainyard_operator.settings import OperatorSettings

    env = env_of(containers(objects, "-operator"))
    ours = {k: v["value"] for k, v in env.items() if k.startswith("TRAINYARD_OPERATOR_")}
    fields = {f"TRAINYARD_OPERATOR_{name.upper()}" for name in OperatorSettings.model_fields}
    assert not set(ours) - fields, f"the chart sets variables OperatorSettings does not know: {set(ours) - fields}"
    for name, value in ours.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("MONGODB_DB_NAME", env["MONGODB_DB_NAME"]["value"])
    return OperatorSettings()


def test_operator_settings_and_the_jobs_it_builds_follow_the_values(rendered, monkeypatch):
    from trainyard_operator.builders import build_job
    from trainyard_operator.spec import TrainingRun, TrainingRunSpec

    values_file, objects = rendered
    values = yaml.safe_load(values_file.read_text()) if values_file else {}
    trainer = values.get("trainer", {})
    settings = operator_settings_from(objects, monkeypatch)
    assert settings.namespaces == ["training"]
    assert settings.trainer_image == f"trainyard/trainer:{trainer.get('image', {}).get('tag') or '0.1.0'}"
    assert settings.default_memory == trainer.get("resources", {}).get("memory", "2Gi")
    assert settings.default_node_selector == trainer.get("nodeSelector", {})

    run = TrainingRun(name="smoke", namespace="training", uid="0000", spec=TrainingRunSpec(agent_id="a"))
    job = build_job(run, settings)
    kubernetes_validate.validate(job, K8S_VERSION, strict=True)
    pod = job["spec"]["template"]["spec"]
    claims = [v["persistentVolumeClaim"]["claimName"] for v in pod["volumes"] if "persistentVolumeClaim" in v]
    api_claims = [v["persistentVolumeClaim"]["claimName"] for v in pod_templates(objects)["trainyard-api"]["spec"][
        "volumes"] if "persistentVolumeClaim" in v]
    assert claims == api_claims  # trainers write where the API reads
    trainer_env = env_of(pod["containers"][0])
    api_env = env_of(containers(objects, "-api"))
    assert trainer_env["MONGODB_URI"]["valueFrom"] == api_env["MONGODB_URI"]["valueFrom"]
    for toleration in trainer.get("tolerations", []):
        assert toleration in pod["tolerations"]

    gpu_run = TrainingRun(name="gpu", namespace="training", uid="0001",
                          spec=TrainingRunSpec(agent_id="a", resources={"gpu": 1}))
    gpu_pod = build_job(gpu_run, settings)["spec"]["template"]["spec"]
    expected = trainer.get("gpuToleration", {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"})
    assert expected in gpu_pod["tolerations"]


def test_trainer_pods_are_scraped_and_selected_as_the_operator_labels_them(helm, monkeypatch):
    from trainyard_operator import constants
    from trainyard_operator.builders import build_job
    from trainyard_operator.spec import TrainingRun, TrainingRunSpec

    objects = template(helm, "--values", str(CHART / "ci" / "monitors-values.yaml"))
    settings = operator_settings_from(objects, monkeypatch)
    run = TrainingRun(name="smoke", namespace="training", uid="0000", spec=TrainingRunSpec(agent_id="a"))
    pod = build_job(run, settings)["spec"]["template"]
    monitor = find(objects, "PodMonitor", "trainyard-trainers")
    assert monitor["spec"]["selector"]["matchLabels"].items() <= pod["metadata"]["labels"].items()
    (endpoint,) = monitor["spec"]["podMetricsEndpoints"]
    assert endpoint["port"] == constants.METRICS_PORT_NAME
    (port,) = pod["spec"]["containers"][0]["ports"]
    assert port["name"] == constants.METRICS_PORT_NAME
    assert pod["metadata"]["annotations"]["prometheus.io/port"] == str(port["containerPort"])


def test_monitors_select_the_chart_s_pods(helm):
    objects = template(helm, "--values", str(CHART / "ci" / "monitors-values.yaml"))
    service = find(objects, "Service", "trainyard-api")
    sm = find(objects, "ServiceMonitor")
    assert sm["spec"]["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items()
    assert {e["port"] for e in sm["spec"]["endpoints"]} <= {p["name"] for p in service["spec"]["ports"]}
    assert sm["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    operator_pod = pod_templates(objects)["trainyard-operator"]
    pm = find(objects, "PodMonitor", "trainyard-operator")
    assert pm["spec"]["selector"]["matchLabels"].items() <= operator_pod["metadata"]["labels"].items()
    ports = {p["name"] for p in operator_pod["spec"]["containers"][0]["ports"]}
    assert {e["port"] for e in pm["spec"]["podMetricsEndpoints"]} <= ports


def test_scrape_annotations_point_at_the_metrics_ports(rendered):
    _, objects = rendered
    for name in ("trainyard-api", "trainyard-operator"):
        tpl = pod_templates(objects)[name]
        annotations = tpl["metadata"]["annotations"]
        ports = {p["containerPort"] for p in tpl["spec"]["containers"][0]["ports"]}
        assert annotations["prometheus.io/scrape"] == "true" and annotations["prometheus.io/path"] == "/metrics"
        assert int(annotations["prometheus.io/port"]) in ports, name


# ------------------------------------------------------------------ the CRD and the sample run


def crd_documents() -> list[dict]:
    files = sorted((CHART / "crds").glob("*"))
    assert [f.name for f in files] == ["trainingruns.trainyard.dev.yaml"], "crds/ holds exactly the one CRD file"
    return [d for d in yaml.safe_load_all(files[0].read_text()) if d]


def as_json_schema(schema: dict) -> dict:
    """openAPIV3Schema (OpenAPI 3.0) -> JSON Schema draft 7: `nullable` becomes a null type, boolean
    exclusiveMinimum/Maximum become numbers; x-kubernetes-* keywords are ignored by the validator."""
    out = {}
    for key, value in schema.items():
        if isinstance(value, dict):
            value = {k: as_json_schema(v) for k, v in value.items()} if key in ("properties", "definitions") \
                else as_json_schema(value)
        elif isinstance(value, list) and key in ("allOf", "anyOf", "oneOf"):
            value = [as_json_schema(v) for v in value]
        out[key] = value
    if out.pop("nullable", False) and "type" in out:
        out["type"] = [out["type"], "null"]
    for exclusive, bound in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
        if isinstance(out.get(exclusive), bool) and out.pop(exclusive) and bound in out:
            out[exclusive] = out.pop(bound)
    return out


def training_run_validator():
    import jsonschema

    (crd,) = crd_documents()
    (version,) = [v for v in crd["spec"]["versions"] if v.get("storage")]
    schema = as_json_schema(version["schema"]["openAPIV3Schema"])
    api_version = f"{crd['spec']['group']}/{version['name']}"
    return api_version, crd["spec"]["names"]["kind"], jsonschema.Draft7Validator(schema)


def test_sample_training_runs_are_valid_against_the_crd():
    api_version, kind, validator = training_run_validator()
    samples = sorted((REPO / "examples").glob("trainingrun-*.yaml"))
    assert REPO / "examples" / "trainingrun-smoke.yaml" in samples, "examples/trainingrun-smoke.yaml is missing"
    for path in samples:
        for doc in (d for d in yaml.safe_load_all(path.read_text()) if d):
            assert (doc["apiVersion"], doc["kind"]) == (api_version, kind), path.name
            errors = [f"{'/'.join(map(str, e.path))}: {e.message}" for e in validator.iter_errors(doc)]
            assert not errors, f"{path.name}: {errors}"
    bad = yaml.safe_load((REPO / "examples" / "trainingrun-smoke.yaml").read_text())
    bad["spec"]["totalTimesteps"] = "lots"
    assert list(validator.iter_errors(bad)), "the CRD schema accepted a string for spec.totalTimesteps"
    bad = yaml.safe_load((REPO / "examples" / "trainingrun-smoke.yaml").read_text())
    bad["spec"]["hyperparameters"]["learningRate"] = 0
    assert list(validator.iter_errors(bad)), "the CRD schema accepted learningRate 0 (exclusive minimum)"
