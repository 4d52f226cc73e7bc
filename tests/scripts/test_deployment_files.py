"""The container files in docker/: the Dockerfiles pass
scripts/check_dockerfile.py (and the checker catches each rule it has), and
docker/compose.yaml passes Debian's docker-compose validation offline."""

import importlib.util
import os
import shutil
import subprocess
import tempfile
import unittest
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def load_checker():
    spec = importlib.util.spec_from_file_location(
        "check_dockerfile", ROOT / "scripts" / "check_dockerfile.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


checker = load_checker()

GOOD = """\
FROM debian:12 AS build
RUN apt-get update \\
 && apt-get install -y --no-install-recommends g++ \\
 && rm -rf /var/lib/apt/lists/*
COPY CMakeLists.txt ./
FROM debian:12-slim
RUN useradd --create-home --uid 10001 app
COPY --from=build /src/app /usr/local/bin/
USER app
CMD ["app"]
"""


class CheckDockerfileTest(unittest.TestCase):
    def problems(self, text):
        with tempfile.NamedTemporaryFile("w", suffix=".Dockerfile",
                                         delete=False) as f:
            f.write(text)
        try:
            return checker.check(f.name, str(ROOT))
        finally:
            os.unlink(f.name)

    def assertOnly(self, text, fragment):
        problems = self.problems(text)
        self.assertEqual(len(problems), 1, problems)
        self.assertIn(fragment, problems[0])

    def test_lanterns_dockerfiles_pass(self):
        for name in ("Dockerfile", "Dockerfile.cuda"):
            self.assertEqual(
                checker.check(str(ROOT / "docker" / name), str(ROOT)), [])

    def test_a_good_file_passes(self):
        self.assertEqual(self.problems(GOOD), [])

    def test_untagged_and_latest_images(self):
        self.assertOnly(GOOD.replace("debian:12 AS", "debian AS"), "no tag")
        self.assertOnly(GOOD.replace("debian:12-slim", "debian:latest"),
                        ":latest")
        # Through an ARG default.
        self.assertOnly("ARG BASE=debian\n" +
                        GOOD.replace("FROM debian:12 AS", "FROM ${BASE} AS"),
                        "no tag")

    def test_root_or_missing_user(self):
        self.assertOnly(GOOD.replace("USER app", "USER root"), "root")
        self.assertOnly(GOOD.replace("USER app\n", ""), "root")
        self.assertOnly(GOOD.replace("USER app", "USER nobody2"),
                        "not created")

    def test_apt_rules(self):
        self.assertOnly(GOOD.replace("--no-install-recommends ", ""),
                        "--no-install-recommends")
        self.assertOnly(GOOD.replace(" \\\n && rm -rf /var/lib/apt/lists/*",
                                     ""), "apt lists")
        self.assertOnly(GOOD.replace("apt-get update \\\n && ", ""),
                        "apt-get update")

    def test_copy_sources(self):
        self.assertOnly(GOOD.replace("--from=build", "--from=builder"),
                        "no earlier stage")
        self.assertOnly(GOOD.replace("COPY CMakeLists.txt", "COPY nothere"),
                        "not in the build context")

    def test_single_stage_url_secrets_and_shell_form(self):
        single = "FROM debian:12\nRUN useradd app\nUSER app\n"
        self.assertOnly(single, "multi-stage")
        self.assertOnly(GOOD + "ADD https://example.com/x /x\n", "ADD")
        self.assertOnly(GOOD + "ENV API_TOKEN=abc\n", "secret")
        self.assertOnly(GOOD.replace('CMD ["app"]', "CMD app --run"),
                        "exec")


@unittest.skipUnless(shutil.which("docker-compose"),
                     "needs docker-compose (scripts/deps.sh installs it)")
class ComposeTest(unittest.TestCase):
    def config(self, env=None):
        args = ["docker-compose", "-f", str(ROOT / "docker" / "compose.yaml")]
        return subprocess.run(args + ["config"], capture_output=True,
                              text=True, timeout=60,
                              env=dict(os.environ, **(env or {})))

    def test_compose_file_is_valid(self):
        out = subprocess.run(
            ["docker-compose", "-f", str(ROOT / "docker" / "compose.yaml"),
             "config", "-q"], capture_output=True, text=True, timeout=60)
        self.assertEqual(out.returncode, 0, out.stderr)

    def test_services_profiles_and_config(self):
        out = self.config(env={"LANTERN_CONFIG": "sparse_oni.yaml"})
        self.assertEqual(out.returncode, 0, out.stderr)
        services = yaml.safe_load(out.stdout)["services"]
        self.assertEqual(set(services), {"reward", "learner", "actor", "llm"})
        # The reward server only for configs with a reward model, the LLM
        # on request; learner and actors always.
        self.assertEqual(services["reward"].get("profiles"), ["oni"])
        self.assertEqual(services["llm"].get("profiles"), ["llm"])
        self.assertNotIn("profiles", services["learner"])
        self.assertNotIn("profiles", services["actor"])
        for role in ("reward", "learner", "actor"):
            command = services[role]["command"]
            self.assertIn("/etc/lantern/sparse_oni.yaml", command)
            self.assertIn("run.dir=/var/lib/lantern/runs", command)
        self.assertEqual(services["learner"]["environment"],
                         {"LANTERN_REWARD_ADDR": "reward:50052"})
        self.assertEqual(services["actor"]["environment"],
                         {"LANTERN_LEARNER_ADDR": "learner:50051"})
        self.assertIn("learner.listen=0.0.0.0:50051",
                      services["learner"]["command"])
        self.assertIn("reward.listen=0.0.0.0:50052",
                      services["reward"]["command"])
        # Scalable: actors have no fixed name or host port.
        self.assertNotIn("container_name", services["actor"])
        self.assertNotIn("ports", services["actor"])
        for role in ("reward", "learner"):
            self.assertEqual(services[role]["healthcheck"]["test"][:3],
                             ["CMD", "lantern", "status"])
        # Every config the compose file can name exists.
        for name in ("quickstart.yaml", "sparse_oni.yaml"):
            self.assertTrue((ROOT / "configs" / name).exists())


if __name__ == "__main__":
    unittest.main()
