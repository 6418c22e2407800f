from tests.support.kube.fixtures import *  # noqa: F403 - the k8s tier's fixtures
