"""`lantern render` and `lantern launch` (cli/render*.cc, cli/launch_command.cc).

The rendered Kubernetes objects are validated offline against the API
schemas (npm kubernetes-models, through validate_k8s.js) and rendered with
`kubectl kustomize`; the Slurm script passes shellcheck and runs against a
fake srun/scontrol; the compose file passes `docker-compose config -q`. Each
target's values (replicas, images, addresses, resources) are checked against
the config they came from.

Run by CTest (LANTERN_BIN names the built `lantern`), or by hand:
  LANTERN_BIN=build/bin/lantern /usr/bin/python3 -m unittest -v \
      tests/cli/render_test.py
"""

import json
import os
import shutil
import subprocess
import tempfile
import textwrap
import unittest
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
LANTERN = os.environ.get("LANTERN_BIN", str(ROOT / "build" / "bin" / "lantern"))

# Every deploy key away from its default, and a reward server.
CONFIG = textwrap.dedent("""\
    run: {name: render_test, dir: /shared/runs}
    actor: {count: 7, num_envs: 16, learner_addr: "10.0.0.9:1"}
    learner: {batch_size: 32}
    reward: {model_kind: classification, intrinsic_coef: 0.1}
    annotator: {kind: llm, api_key_env: MY_LLM_KEY}
    deploy:
      image: registry.example.com/lantern:1.2
      learner_image: registry.example.com/lantern-cuda:1.2
      pull_policy: Always
      namespace: rl-test
      learner_port: 6001
      reward_port: 6002
      metrics_port: 9100
      learner_gpus: 2
      learner_cpu: "6"
      learner_memory: 24Gi
      learner_cpu_limit: "8"
      learner_memory_limit: 32Gi
      reward_cpu: 1500m
      reward_memory: 6Gi
      reward_memory_limit: ""
      actor_cpu: "0.5"
      actor_memory: 1536Mi
      actor_memory_limit: 2Gi
      learner_storage: 20Gi
      reward_storage: 5Gi
      storage_class: fast-ssd
      slurm_learner_partition: gpu
      slurm_partition: cpu,cpu2
      slurm_account: proj-42
      slurm_time: 2-00:00:00
      slurm_actor_nodes: 3
      slurm_bin_dir: /opt/lantern dir/bin
    """)

# The defaults, without a reward server.
PLAIN = "run: {name: plain}\ndeploy: {namespace: default}\n"


def lantern(*args, env=None, check=True):
    out = subprocess.run([LANTERN, *args], capture_output=True, text=True,
                         timeout=60, env=env)
    if check and out.returncode != 0:
        raise AssertionError(f"lantern {' '.join(args)}: {out.returncode}\n"
                             f"{out.stdout}\n{out.stderr}")
    return out


class RenderCase(unittest.TestCase):
    def setUp(self):
        self.tmp = Path(tempfile.mkdtemp(prefix="render_test."))
        self.addCleanup(shutil.rmtree, self.tmp)

    def render(self, target, text=CONFIG, name="out"):
        config = self.tmp / f"{name}.yaml"
        config.write_text(text)
        out = self.tmp / name
        listed = lantern("render", target, str(config), "--out", str(out))
        self.assertEqual(
            sorted(str(Path(p).relative_to(out))
                   for p in listed.stdout.split()),
            sorted(str(p.relative_to(out)) for p in out.rglob("*")
                   if p.is_file()))
        return out


def docs(path):
    return [d for d in yaml.safe_load_all(path.read_text()) if d is not None]


def by_kind(out):
    objects = {}
    for f in sorted(out.glob("*.yaml")):
        if f.name == "kustomization.yaml":
            continue
        for d in docs(f):
            objects[(d["kind"], d["metadata"]["name"])] = d
    return objects


class KubernetesTest(RenderCase):
    @classmethod
    def setUpClass(cls):
        if shutil.which("node") is None or shutil.which("npm") is None:
            raise unittest.SkipTest("needs node and npm (apt-get install npm)")
        fetch = subprocess.run([str(ROOT / "scripts" / "fetch_k8s_models.sh")],
                               capture_output=True, text=True, timeout=600)
        if fetch.returncode != 0:
            raise AssertionError(f"fetch_k8s_models.sh: {fetch.stderr}")
        cls.node_path = fetch.stdout.strip()

    def validate(self, *files):
        out = subprocess.run(
            ["node", str(ROOT / "tests" / "cli" / "validate_k8s.js"),
             *map(str, files)], capture_output=True, text=True, timeout=120,
            env=dict(os.environ, NODE_PATH=self.node_path))
        return out.returncode, out.stdout, json.loads(
            out.stdout.strip().splitlines()[-1])

    def test_objects_pass_the_schemas(self):
        out = self.render("k8s")
        manifests = [out / n for n in ("namespace.yaml", "configmap.yaml",
                                       "reward.yaml", "learner.yaml",
                                       "actor.yaml")]
        rc, text, summary = self.validate(*manifests)
        self.assertEqual(rc, 0, text)
        self.assertEqual(summary["kinds"], {
            "Namespace": 1, "ConfigMap": 1, "StatefulSet": 1, "Service": 2,
            "PersistentVolumeClaim": 1, "Deployment": 2})
        kustomization = yaml.safe_load((out / "kustomization.yaml").read_text())
        self.assertEqual(kustomization["resources"],
                         [m.name for m in manifests])

    def test_the_validator_catches_bad_objects(self):
        out = self.render("k8s")
        actor = docs(out / "actor.yaml")[0]
        actor["spec"]["replicas"] = "seven"
        bad = self.tmp / "bad.yaml"
        bad.write_text(yaml.safe_dump_all([
            actor, {"apiVersion": "v1", "kind": "Pod"},
            {"apiVersion": "example.com/v1", "kind": "Widget",
             "metadata": {"name": "w"}}]))
        rc, text, summary = self.validate(bad)
        self.assertEqual(rc, 1)
        self.assertIn("replicas must be integer", text)
        self.assertIn("needs apiVersion, kind and metadata.name", text)
        self.assertIn("unknown kind example.com/v1 Widget", text)
        self.assertEqual(summary["failures"], 3)

    @unittest.skipUnless(shutil.which("kubectl"),
                         "kubectl is not installed: `kubectl kustomize` "
                         "not checked (the schema checks still ran)")
    def test_kubectl_kustomize_renders_it(self):
        out = self.render("k8s")
        built = subprocess.run(["kubectl", "kustomize", str(out)],
                               capture_output=True, text=True, timeout=120)
        self.assertEqual(built.returncode, 0, built.stderr)
        (self.tmp / "built.yaml").write_text(built.stdout)
        rc, text, summary = self.validate(self.tmp / "built.yaml")
        self.assertEqual(rc, 0, text)
        self.assertEqual(summary["objects"], 8)

    def test_values_come_from_the_config(self):
        out = self.render("k8s")
        o = by_kind(out)
        for (kind, name), d in o.items():
            if kind != "Namespace":
                self.assertEqual(d["metadata"]["namespace"], "rl-test", name)
        self.assertIn(("Namespace", "rl-test"), o)

        actors = o[("Deployment", "actor")]
        self.assertEqual(actors["spec"]["replicas"], 7)
        pod = actors["spec"]["template"]["spec"]
        (c,) = pod["containers"]
        self.assertEqual(c["image"], "registry.example.com/lantern:1.2")
        self.assertEqual(c["imagePullPolicy"], "Always")
        self.assertEqual(c["env"], [{"name": "LANTERN_LEARNER_ADDR",
                                     "value": "learner:6001"}])
        self.assertEqual(c["resources"], {
            "requests": {"cpu": "0.5", "memory": "1536Mi"},
            "limits": {"memory": "2Gi"}})
        self.assertEqual(c["command"][:3], ["lantern-actor", "--config",
                                            "/etc/lantern/job/config.yaml"])
        self.assertIn("metrics.actor_listen=0.0.0.0:9100", c["command"])

        learner = o[("Deployment", "learner")]
        self.assertEqual(learner["spec"]["replicas"], 1)
        (c,) = learner["spec"]["template"]["spec"]["containers"]
        self.assertEqual(c["image"], "registry.example.com/lantern-cuda:1.2")
        self.assertEqual(c["env"], [{"name": "LANTERN_REWARD_ADDR",
                                     "value": "reward:6002"}])
        self.assertEqual(c["resources"], {
            "requests": {"cpu": "6", "memory": "24Gi", "nvidia.com/gpu": "2"},
            "limits": {"cpu": "8", "memory": "32Gi", "nvidia.com/gpu": "2"}})
        self.assertIn("learner.listen=0.0.0.0:6001", c["command"])
        self.assertIn("run.dir=/var/lib/lantern/runs", c["command"])
        self.assertEqual(c["readinessProbe"]["exec"]["command"],
                         ["lantern", "status", "127.0.0.1:6001", "--config",
                          "/etc/lantern/job/config.yaml"])
        claim = o[("PersistentVolumeClaim", "learner-runs")]["spec"]
        self.assertEqual(claim["resources"]["requests"]["storage"], "20Gi")
        self.assertEqual(claim["storageClassName"], "fast-ssd")
        self.assertEqual(o[("Service", "learner")]["spec"]["ports"][0]["port"],
                         6001)

        reward = o[("StatefulSet", "reward")]
        self.assertEqual(reward["spec"]["replicas"], 1)
        (c,) = reward["spec"]["template"]["spec"]["containers"]
        self.assertEqual(c["image"], "registry.example.com/lantern:1.2")
        self.assertEqual(c["resources"], {
            "requests": {"cpu": "1500m", "memory": "6Gi"}})
        self.assertIn("reward.listen=0.0.0.0:6002", c["command"])
        self.assertEqual(c["env"][0]["name"], "MY_LLM_KEY")
        self.assertTrue(c["env"][0]["valueFrom"]["secretKeyRef"]["optional"])
        (template,) = reward["spec"]["volumeClaimTemplates"]
        self.assertEqual(template["spec"]["resources"]["requests"]["storage"],
                         "5Gi")
        self.assertEqual(template["spec"]["storageClassName"], "fast-ssd")
        self.assertEqual(o[("Service", "reward")]["spec"]["clusterIP"], "None")

        # The mounted config is the effective one, addresses cleared.
        mounted = yaml.safe_load(
            o[("ConfigMap", "lantern-config")]["data"]["config.yaml"])
        self.assertEqual(mounted["actor"]["count"], 7)
        self.assertEqual(mounted["actor"]["learner_addr"], "")
        self.assertEqual(mounted["deploy"]["image"],
                         "registry.example.com/lantern:1.2")

    def test_no_reward_server_without_a_reward_model(self):
        out = self.render("k8s", PLAIN)
        self.assertEqual(sorted(p.name for p in out.iterdir()),
                         ["actor.yaml", "configmap.yaml", "kustomization.yaml",
                          "learner.yaml"])
        o = by_kind(out)
        (c,) = o[("Deployment", "learner")]["spec"]["template"]["spec"][
            "containers"]
        self.assertNotIn("env", c)
        self.assertEqual(c["image"], "lantern:local")
        self.assertEqual(o[("Deployment", "actor")]["spec"]["replicas"], 2)
        rc, text, _ = self.validate(*sorted(out.glob("[!k]*.yaml")))
        self.assertEqual(rc, 0, text)


@unittest.skipUnless(shutil.which("shellcheck"),
                     "needs shellcheck (scripts/deps.sh installs it)")
class SlurmTest(RenderCase):
    def test_script_passes_shellcheck(self):
        for text in (CONFIG, PLAIN):
            out = self.render("slurm", text, name=f"s{len(text)}")
            check = subprocess.run(["shellcheck", str(out / "lantern.sbatch")],
                                   capture_output=True, text=True, timeout=60)
            self.assertEqual(check.returncode, 0, check.stdout)
            self.assertTrue(os.access(out / "lantern.sbatch", os.X_OK))

    def test_any_path_is_quoted(self):
        tricky = "/opt/it's \"x\" $HOME `id` \\ bin"
        config = self.tmp / "q.yaml"
        config.write_text(yaml.safe_dump({"deploy": {"slurm_bin_dir": tricky}}))
        out = self.tmp / "out's $dir"
        lantern("render", "slurm", str(config), "--out", str(out))
        script = out / "lantern.sbatch"
        check = subprocess.run(["shellcheck", str(script)],
                               capture_output=True, text=True, timeout=60)
        self.assertEqual(check.returncode, 0, check.stdout)
        lines = [l for l in script.read_text().splitlines()
                 if l.startswith(("export PATH=", "config="))]
        got = subprocess.run(
            ["bash", "-c", "\n".join(lines) + '\nprintf "%s\\n" "$PATH" '
             '"$config"'], capture_output=True, text=True, timeout=60,
            env={"PATH": "/usr/bin:/bin"}).stdout.splitlines()
        self.assertEqual(got, [tricky + ":/usr/bin:/bin",
                               str(out / "config.yaml")])

    def sbatch_lines(self, out):
        return [line.split(" ", 1)[1]
                for line in (out / "lantern.sbatch").read_text().splitlines()
                if line.startswith("#SBATCH ")]

    def test_values_come_from_the_config(self):
        out = self.render("slurm")
        self.assertEqual(self.sbatch_lines(out), [
            "--job-name=lantern-render_test", "--time=2-00:00:00",
            "--account=proj-42", "--output=lantern-%j.out",
            # The learner: a GPU node.
            "--partition=gpu", "--nodes=1", "--ntasks=1",
            "--cpus-per-task=6", "--mem=24576M", "--gres=gpu:2",
            "hetjob",
            # The reward server: 1500m rounds up to 2 cores.
            "--partition=cpu,cpu2", "--nodes=1", "--ntasks=1",
            "--cpus-per-task=2", "--mem=6144M",
            "hetjob",
            # 7 actors over 3 nodes, 1536Mi each on one core.
            "--partition=cpu,cpu2", "--nodes=3", "--ntasks=7",
            "--cpus-per-task=1", "--mem-per-cpu=1536M"])
        mounted = yaml.safe_load((out / "config.yaml").read_text())
        self.assertEqual(mounted["actor"]["learner_addr"], "")
        self.assertEqual(mounted["run"]["dir"], "/shared/runs")

    def fake_tools(self, log):
        """srun and scontrol that log what they were asked to run."""
        bin_dir = self.tmp / "fakebin"
        bin_dir.mkdir()
        (bin_dir / "scontrol").write_text(
            "#!/bin/bash\n# scontrol show hostnames LIST\n"
            "tr ',' '\\n' <<<\"$3\"\n")
        # Runs the actor step's command once per task, as srun would.
        (bin_dir / "srun").write_text(textwrap.dedent(f"""\
            #!/bin/bash
            group=$1; shift
            echo "srun $group $* | learner=$LANTERN_LEARNER_ADDR reward=${{LANTERN_REWARD_ADDR:-}}" >> {log}
            if [[ $1 == bash ]]; then
              for i in 0 1 2; do SLURM_PROCID=$i "$@"; done
            fi
            # The learner's step ends the job: it lasts until the reward
            # server's and the actors' steps (5 lines) have been logged.
            if [[ $group == --het-group=0 ]]; then
              for _ in $(seq 400); do
                (( $(wc -l < {log}) >= 6 )) && exit 0
                sleep 0.05
              done
              exit 1
            fi
            """))
        (bin_dir / "lantern-actor").write_text(
            f"#!/bin/bash\necho \"actor $*\" >> {log}\n")
        for f in bin_dir.iterdir():
            f.chmod(0o755)
        return bin_dir

    def test_addresses_pass_through_the_environment(self):
        out = self.render("slurm")
        log = self.tmp / "log"
        bin_dir = self.fake_tools(log)
        env = dict(os.environ,
                   PATH=f"{bin_dir}:{os.environ['PATH']}",
                   SLURM_JOB_NODELIST_HET_GROUP_0="gpu07",
                   SLURM_JOB_NODELIST_HET_GROUP_1="cpu01,cpu02",
                   SLURM_JOB_NODELIST_HET_GROUP_2="cpu03")
        run = subprocess.run(["bash", str(out / "lantern.sbatch")], env=env,
                             capture_output=True, text=True, timeout=60)
        self.assertEqual(run.returncode, 0, run.stderr)
        self.assertIn("learner at gpu07:6001", run.stdout)
        lines = sorted(log.read_text().splitlines())
        config = str(out / "config.yaml")
        self.assertEqual(lines, sorted([
            "srun --het-group=0 lantern-learner --config " + config +
            " --set learner.listen=0.0.0.0:6001"
            " --set metrics.learner_listen=0.0.0.0:9100"
            " | learner=gpu07:6001 reward=cpu01:6002",
            "srun --het-group=1 lantern-reward-server --config " + config +
            " --set reward.listen=0.0.0.0:6002"
            " --set metrics.reward_listen=0.0.0.0:0"
            " | learner=gpu07:6001 reward=cpu01:6002",
            [l for l in lines if l.startswith("srun --het-group=2 bash")][0],
        ] + [f"actor --config {config} --index {i} --set "
             "metrics.actor_listen=0.0.0.0:0" for i in range(3)]))
        self.assertTrue(any(l.endswith("| learner=gpu07:6001 reward=cpu01:6002")
                            for l in lines if "het-group=2" in l))

    def test_without_a_reward_server(self):
        out = self.render("slurm", PLAIN)
        text = (out / "lantern.sbatch").read_text()
        self.assertEqual(self.sbatch_lines(out).count("hetjob"), 1)
        self.assertNotIn("reward", text.replace("reward server", ""))
        self.assertIn("srun --het-group=1 bash", text)
        self.assertIn("--gres=gpu:1", text)


@unittest.skipUnless(shutil.which("docker-compose"),
                     "needs docker-compose (scripts/deps.sh installs it)")
class ComposeTest(RenderCase):
    def compose_config(self, out):
        check = subprocess.run(
            ["docker-compose", "-f", str(out / "compose.yaml"), "config"],
            capture_output=True, text=True, timeout=60)
        self.assertEqual(check.returncode, 0, check.stderr)
        quiet = subprocess.run(
            ["docker-compose", "-f", str(out / "compose.yaml"), "config", "-q"],
            capture_output=True, text=True, timeout=60)
        self.assertEqual(quiet.returncode, 0, quiet.stderr)
        return yaml.safe_load(check.stdout)

    def test_values_come_from_the_config(self):
        out = self.render("compose")
        services = self.compose_config(out)["services"]
        self.assertEqual(set(services), {"reward", "learner", "actor"})
        actor, learner, reward = (services[n] for n in ("actor", "learner",
                                                        "reward"))
        self.assertEqual(actor["deploy"]["replicas"], 7)
        self.assertEqual(actor["image"], "registry.example.com/lantern:1.2")
        self.assertEqual(learner["image"],
                         "registry.example.com/lantern-cuda:1.2")
        self.assertEqual(actor["environment"],
                         {"LANTERN_LEARNER_ADDR": "learner:6001"})
        self.assertEqual(learner["environment"],
                         {"LANTERN_REWARD_ADDR": "reward:6002"})
        self.assertEqual(actor["deploy"]["resources"]["reservations"],
                         {"cpus": "0.5", "memory": "1536m"})
        self.assertEqual(actor["deploy"]["resources"]["limits"],
                         {"memory": "2g"})
        gpu = learner["deploy"]["resources"]["reservations"]["devices"]
        self.assertEqual(gpu, [{"driver": "nvidia", "count": 2,
                                "capabilities": ["gpu"]}])
        limits = learner["deploy"]["resources"]["limits"]
        self.assertEqual(float(limits["cpus"]), 8)  # compose makes it 8.0
        self.assertEqual(limits["memory"], "32g")
        self.assertEqual(learner["ports"][0]["published"], 9100)
        for role in (actor, learner, reward):
            # docker-compose v1 prints short forms, resolved.
            self.assertIn(f"{out}/config.yaml:/etc/lantern/job/config.yaml:ro",
                          role["volumes"])
        self.assertIn("reward.listen=0.0.0.0:6002", reward["command"])
        self.assertEqual(actor["depends_on"]["learner"]["condition"],
                         "service_healthy")
        self.assertTrue((out / "config.yaml").exists())

    def test_no_reward_service_without_a_reward_model(self):
        out = self.render("compose", PLAIN)
        services = self.compose_config(out)["services"]
        self.assertEqual(set(services), {"learner", "actor"})
        self.assertNotIn("environment", services["learner"])
        self.assertEqual(services["actor"]["deploy"]["replicas"], 2)


class ConfigAndLaunchTest(RenderCase):
    def write(self, text):
        config = self.tmp / "c.yaml"
        config.write_text(text)
        return str(config)

    def test_bad_deploy_values_name_their_keys(self):
        config = self.write(textwrap.dedent("""\
            actor: {count: 2}
            deploy:
              imag: x
              namespace: Bad_NS
              learner_memory: 8GB
              actor_cpu: lots
              reward_memory_limit: 1Gi
              slurm_time: tomorrow
              slurm_actor_nodes: 3
              metrics_port: 50051
            """))
        out = lantern("render", "k8s", config, "--out", str(self.tmp / "o"),
                      check=False)
        self.assertEqual(out.returncode, 2)
        self.assertIn("deploy.imag: unknown key (line 3)", out.stderr)
        self.assertFalse((self.tmp / "o").exists())
        # Without the unknown key, every value error at once.
        config = self.write(Path(config).read_text().replace("  imag: x\n", ""))
        out = lantern("render", "k8s", config, "--out", str(self.tmp / "o"),
                      check=False)
        self.assertEqual(out.returncode, 2)
        for fragment in (
                "deploy.namespace: 'Bad_NS' must be a DNS label",
                "deploy.learner_memory: '8GB' must be a positive whole number "
                "with Ki, Mi, Gi or Ti",
                "deploy.actor_cpu: 'lots' must be a positive cpu amount",
                "deploy.reward_memory_limit: '1Gi' is below the request "
                "deploy.reward_memory (8Gi)",
                "deploy.slurm_time: 'tomorrow' must be a Slurm time limit",
                "deploy.slurm_actor_nodes: 3 nodes for actor.count = 2",
                "deploy.learner_port, deploy.reward_port, "
                "deploy.metrics_port: must differ"):
            self.assertIn(fragment, out.stderr)
        self.assertIn("7 error(s)", out.stderr)

    def test_unknown_target(self):
        out = lantern("render", "nomad", self.write(PLAIN), "--out",
                      str(self.tmp / "o"), check=False)
        self.assertNotEqual(out.returncode, 0)
        self.assertIn("nomad", out.stderr)

    def test_dry_run_prints_files_and_commands(self):
        config = self.write(CONFIG)
        dest = self.tmp / "dest"
        expected = {
            "k8s": (f"$ kubectl apply -k {dest}", "configmap.yaml"),
            "slurm": (f"$ sbatch {dest}/lantern.sbatch", "config.yaml"),
        }
        for target, (command, file) in expected.items():
            out = lantern("launch", config, "--target", target, "--out",
                          str(dest), "--dry-run")
            lines = out.stdout.splitlines()
            self.assertEqual(lines[-1], command)
            self.assertIn(f"# {dest}/{file}", lines)
            self.assertFalse(dest.exists(), "a dry run writes nothing")
        out = lantern("launch", config, "--target", "k8s", "--out", str(dest),
                      "--dry-run")
        self.assertIn(f"# {dest}/actor.yaml", out.stdout)
        self.assertIn("  replicas: 7\n", out.stdout)
        out = lantern("launch", config, "--target", "compose", "--out",
                      str(dest), "--dry-run")
        last = out.stdout.splitlines()[-1]
        self.assertIn(last, [
            f"$ docker compose -f {dest}/compose.yaml up -d",
            f"$ docker-compose --compatibility -f {dest}/compose.yaml up -d"])

    def test_missing_tools_are_clear_errors(self):
        config = self.write(PLAIN)
        env = dict(os.environ, PATH=str(self.tmp / "empty"))
        for target, message in (
                ("k8s", "error: kubectl is not on PATH"),
                ("slurm", "error: sbatch is not on PATH"),
                ("compose", "error: neither `docker compose` nor "
                            "`docker-compose` is on PATH")):
            out = lantern("launch", config, "--target", target, "--out",
                          str(self.tmp / target), env=env, check=False)
            self.assertEqual(out.returncode, 2, out.stderr)
            self.assertTrue(out.stderr.startswith(message), out.stderr)
            self.assertEqual(len(out.stderr.splitlines()), 1, out.stderr)
            self.assertFalse((self.tmp / target).exists())

    def test_launch_runs_the_tool(self):
        bin_dir = self.tmp / "bin"
        bin_dir.mkdir()
        log = self.tmp / "log"
        for tool in ("kubectl", "sbatch"):
            (bin_dir / tool).write_text(
                f"#!/bin/sh\necho {tool} \"$@\" >> {log}\nexit 3\n")
            (bin_dir / tool).chmod(0o755)
        env = dict(os.environ, PATH=str(bin_dir))
        config = self.write(PLAIN)
        for target in ("k8s", "slurm"):
            out = lantern("launch", config, "--target", target, "--out",
                          str(self.tmp / target), env=env, check=False)
            # The tool's exit status is lantern's.
            self.assertEqual(out.returncode, 3, out.stderr)
        self.assertEqual(log.read_text().splitlines(), [
            f"kubectl apply -k {self.tmp / 'k8s'}",
            f"sbatch {self.tmp / 'slurm' / 'lantern.sbatch'}"])
        self.assertTrue((self.tmp / "k8s" / "kustomization.yaml").exists())
        self.assertTrue((self.tmp / "slurm" / "lantern.sbatch").exists())


if __name__ == "__main__":
    unittest.main()


class SecretsTest(RenderCase):
    """security.* in a rendered job: the keys and token are copied into the
    output's private secrets/ folder, never into a manifest or a terminal,
    and every role reads them where its container sees them."""

    def setUp(self):
        super().setUp()
        self.certs = self.tmp / "certs"
        subprocess.run([str(ROOT / "scripts" / "make_certs.sh"),
                        str(self.certs)], check=True, capture_output=True,
                       timeout=60)
        self.token = (self.certs / "token").read_text().strip()
        self.config = CONFIG + textwrap.dedent(f"""\
            security:
              tls_cert: {self.certs}/server.pem
              tls_key: {self.certs}/server.key
              tls_ca: {self.certs}/ca.pem
              token_file: {self.certs}/token
            """)

    def check_secrets(self, out):
        self.assertEqual(os.stat(out).st_mode & 0o777, 0o700)
        for name in ("server.pem", "server.key", "ca.pem", "token"):
            self.assertEqual((out / "secrets" / name).read_text().strip(),
                             (self.certs / name).read_text().strip(), name)
        for f in out.glob("*.*"):
            self.assertNotIn(self.token, f.read_text(), f.name)

    def rendered_security(self, config_text):
        return yaml.safe_load(config_text)["security"]

    def test_kubernetes_mounts_a_generated_secret(self):
        out = self.render("k8s", self.config)
        self.check_secrets(out)
        kustomization = yaml.safe_load((out / "kustomization.yaml").read_text())
        (generator,) = kustomization["secretGenerator"]
        self.assertEqual(generator["name"], "lantern-secrets")
        self.assertEqual(sorted(generator["files"]), [
            "secrets/ca.pem", "secrets/server.key", "secrets/server.pem",
            "secrets/token"])
        self.assertEqual(kustomization["namespace"], "rl-test")
        o = by_kind(out)
        config = o[("ConfigMap", "lantern-config")]["data"]["config.yaml"]
        self.assertEqual(self.rendered_security(config), {
            "tls_cert": "/etc/lantern/secrets/server.pem",
            "tls_key": "/etc/lantern/secrets/server.key",
            "tls_ca": "/etc/lantern/secrets/ca.pem",
            "tls_server_name": "",
            "token_file": "/etc/lantern/secrets/token",
            "token_env": "LANTERN_TOKEN"})
        for kind, name in (("Deployment", "learner"), ("StatefulSet", "reward")):
            pod = o[(kind, name)]["spec"]["template"]["spec"]
            (c,) = pod["containers"]
            self.assertIn({"name": "secrets", "mountPath":
                           "/etc/lantern/secrets", "readOnly": True},
                          c["volumeMounts"])
            volume = [v for v in pod["volumes"] if v["name"] == "secrets"][0]
            self.assertNotIn("items", volume["secret"])
            self.assertEqual(c["readinessProbe"]["exec"]["command"][-2:],
                             ["--config", "/etc/lantern/job/config.yaml"])
        # Actors are clients: the CA and the token, not the server's key.
        pod = o[("Deployment", "actor")]["spec"]["template"]["spec"]
        volume = [v for v in pod["volumes"] if v["name"] == "secrets"][0]
        self.assertEqual(volume["secret"]["items"], [
            {"key": "ca.pem", "path": "ca.pem"},
            {"key": "token", "path": "token"}])
        if shutil.which("kubectl"):
            built = subprocess.run(["kubectl", "kustomize", str(out)],
                                   capture_output=True, text=True, timeout=120)
            self.assertEqual(built.returncode, 0, built.stderr)
            secrets = [d for d in yaml.safe_load_all(built.stdout)
                       if d and d["kind"] == "Secret"]
            self.assertEqual(len(secrets), 1)
            self.assertEqual(secrets[0]["metadata"]["name"], "lantern-secrets")
            self.assertEqual(secrets[0]["metadata"]["namespace"], "rl-test")
            self.assertEqual(sorted(secrets[0]["data"]), [
                "ca.pem", "server.key", "server.pem", "token"])

    def test_a_token_from_the_environment_is_rendered_too(self):
        config = CONFIG + textwrap.dedent(f"""\
            security:
              tls_cert: {self.certs}/server.pem
              tls_key: {self.certs}/server.key
              token_env: MY_TOKEN
            """)
        path = self.tmp / "env.yaml"
        path.write_text(config)
        out = self.tmp / "env"
        lantern("render", "slurm", str(path), "--out", str(out),
                env=dict(os.environ, MY_TOKEN="from-the-env"))
        self.assertEqual((out / "secrets" / "token").read_text(),
                         "from-the-env\n")
        security = self.rendered_security((out / "config.yaml").read_text())
        self.assertEqual(security["token_file"], f"{out}/secrets/token")
        self.assertEqual(security["tls_cert"], f"{out}/secrets/server.pem")

    def test_unreadable_secrets_name_their_key(self):
        path = self.tmp / "bad.yaml"
        path.write_text(self.config.replace(f"{self.certs}/token",
                                            f"{self.certs}/missing"))
        out = lantern("render", "k8s", str(path), "--out",
                      str(self.tmp / "bad"), check=False)
        self.assertEqual(out.returncode, 2)
        self.assertIn("security.token_file: cannot read", out.stderr)

    def test_dry_run_does_not_show_them(self):
        path = self.tmp / "dry.yaml"
        path.write_text(self.config)
        out = lantern("launch", str(path), "--target", "k8s", "--out",
                      str(self.tmp / "dry"), "--dry-run")
        self.assertIn("secrets/token\n(secret: not shown)", out.stdout)
        self.assertNotIn(self.token, out.stdout)
        self.assertNotIn("PRIVATE KEY", out.stdout)

    @unittest.skipUnless(shutil.which("docker-compose"),
                         "needs docker-compose (scripts/deps.sh installs it)")
    def test_compose_mounts_the_folder(self):
        out = self.render("compose", self.config)
        self.check_secrets(out)
        check = subprocess.run(
            ["docker-compose", "-f", str(out / "compose.yaml"), "config"],
            capture_output=True, text=True, timeout=60)
        self.assertEqual(check.returncode, 0, check.stderr)
        services = yaml.safe_load(check.stdout)["services"]
        for name, service in services.items():
            # docker-compose v1 prints volumes in the short form.
            mounts = [v for v in service["volumes"]
                      if v == f"{out}/secrets:/etc/lantern/secrets:ro"]
            self.assertEqual(len(mounts), 1, (name, service["volumes"]))
        security = self.rendered_security((out / "config.yaml").read_text())
        self.assertEqual(security["tls_ca"], "/etc/lantern/secrets/ca.pem")
