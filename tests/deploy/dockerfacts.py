#!/usr/bin/python3
"""Facts about docker-compose.yml and the Dockerfiles, for check_compose.sh.

Docker cannot run on the test machines, so the deployment files are checked
by reading them:

  dockerfacts.py images COMPOSE_CONFIG DOCKERFILE...
      every image the stack pulls, one per line: "ORIGIN IMAGE" (build stage
      names used in a later FROM are not images and are left out)
  dockerfacts.py pinned IMAGE
      exit 0 if IMAGE names an exact version (a digest, or a tag starting
      with at least MAJOR.MINOR digits), else print why and exit 1
  dockerfacts.py apt DOCKERFILE STAGE
      the packages `apt-get install` installs in build stage STAGE (0 = the
      first FROM, -1 = the last), one per line
  dockerfacts.py compose COMPOSE_CONFIG FORWARDER_DIR
      checks the services' structure and the forwarder's variables (see
      check_compose); prints one line per problem and exits 1 if any
  dockerfacts.py docs DOC FORWARDER_DIR
      checks a README text against the forwarder's sources: its YAML blocks
      parse, every PG2ES_* variable it names is one the forwarder reads, and
      every pg2es_* metric it names is one the forwarder serves

COMPOSE_CONFIG is the output of `docker-compose --profile ui config`, which
has every service, defaults filled in and variables substituted.
Standard library plus PyYAML (a dependency of Debian's docker-compose).
"""

import os
import re
import shlex
import sys

import yaml


def dockerfile_stages(path):
    """The build stages of a Dockerfile: a list of (from_image, stage_name,
    instructions), each instruction a string with its continuation lines
    joined and comments dropped."""
    with open(path, encoding="utf-8") as f:
        text = f.read()
    lines = []
    current = ""
    for raw in text.splitlines():
        stripped = raw.strip()
        if stripped.startswith("#") or not stripped:
            # A comment or blank line inside a continued instruction does
            # not end it (Docker's own rule).
            continue
        if stripped.endswith("\\"):
            current += stripped[:-1] + " "
            continue
        lines.append(current + stripped)
        current = ""
    if current:
        lines.append(current)

    stages = []
    for line in lines:
        words = line.split()
        if words[0].upper() == "FROM":
            args = [w for w in words[1:] if not w.startswith("--")]
            name = args[2] if len(args) >= 3 and args[1].upper() == "AS" else None
            stages.append((args[0], name, []))
        elif stages:
            stages[-1][2].append(line)
    return stages


def apt_packages(instruction):
    """Packages named by every `apt-get install` in a RUN instruction."""
    packages = []
    for command in re.split(r";|&&|\|\|", instruction):
        try:
            words = shlex.split(command)
        except ValueError:
            words = command.split()
        if "apt-get" not in words or "install" not in words:
            continue
        after = words[words.index("install") + 1:]
        for word in after:
            if word.startswith("-"):
                continue
            # "postgresql-server-dev-$PG_MAJOR" and "pkg=version" forms
            packages.append(word.split("=")[0])
    return packages


def cmd_images(config_path, dockerfiles):
    with open(config_path, encoding="utf-8") as f:
        config = yaml.safe_load(f)
    for name, service in sorted(config.get("services", {}).items()):
        if "image" in service and "build" not in service:
            print(f"docker-compose.yml:{name} {service['image']}")
    for path in dockerfiles:
        seen_stages = set()
        for image, stage_name, _ in dockerfile_stages(path):
            if image not in seen_stages:
                print(f"{path} {image}")
            if stage_name:
                seen_stages.add(stage_name)
    return 0


PINNED_TAG = re.compile(r"^v?\d+\.\d+(\.\d+)*([-_.+][A-Za-z0-9._-]+)?$")


def cmd_pinned(image):
    if "@sha256:" in image:
        return 0
    last = image.rsplit("/", 1)[-1]
    if ":" not in last:
        print(f"{image}: no tag (means latest)")
        return 1
    tag = last.split(":", 1)[1]
    if tag == "latest":
        print(f"{image}: latest")
        return 1
    if not PINNED_TAG.match(tag):
        print(f"{image}: tag {tag} is not an exact version (MAJOR.MINOR[.PATCH])")
        return 1
    return 0


def cmd_apt(path, stage_index):
    stages = dockerfile_stages(path)
    _, _, instructions = stages[int(stage_index)]
    for instruction in instructions:
        if instruction.split()[0].upper() == "RUN":
            for package in apt_packages(instruction[3:]):
                print(package)
    return 0


def check_compose(config, forwarder_dir):
    """Problems with the compose configuration, as a list of strings."""
    problems = []
    services = config.get("services", {})
    for name in ("postgres", "elasticsearch", "pg2es", "elasticvue"):
        if name not in services:
            problems.append(f"service {name} is missing")
    if problems:
        return problems

    for name in ("postgres", "elasticsearch"):
        if "test" not in services[name].get("healthcheck", {}):
            problems.append(f"service {name} has no healthcheck")
    # pg2es's health check is the image's HEALTHCHECK (forwarder/Dockerfile);
    # check_compose.sh checks that one.  It must not be disabled here.
    if services["pg2es"].get("healthcheck", {}).get("disable"):
        problems.append("service pg2es disables its image's healthcheck")

    depends = services["pg2es"].get("depends_on", {})
    for name in ("postgres", "elasticsearch"):
        condition = depends.get(name, {}).get("condition") if isinstance(depends, dict) else None
        if condition != "service_healthy":
            problems.append(f"pg2es does not wait for {name} to be healthy")

    if "ui" not in services["elasticvue"].get("profiles", []):
        problems.append("elasticvue is not under the profile ui")
    problems += check_opensearch_variant(services)
    for name in ("postgres", "elasticsearch", "pg2es"):
        if services[name].get("profiles"):
            problems.append(f"service {name} is under a profile; it must always start")

    es_env = services["elasticsearch"].get("environment", {})
    if es_env.get("discovery.type") != "single-node":
        problems.append("elasticsearch is not a single node")
    if "mem_limit" not in services["elasticsearch"] and "-Xmx" not in str(es_env.get("ES_JAVA_OPTS", "")):
        problems.append("elasticsearch has no memory limit")

    pg2es_env = services["pg2es"].get("environment", {})
    for key, value in pg2es_env.items():
        if "PASSWORD" in key and key not in ("PGPASSWORD", "PG2ES_ES_PASSWORD"):
            problems.append(f"pg2es: unexpected secret variable {key}")
    if "build" not in services["postgres"] or "build" not in services["pg2es"]:
        problems.append("postgres and pg2es must be built from this repository")
    known = forwarder_variables(forwarder_dir)
    for key in pg2es_env:
        if key.startswith("PG2ES_") and key not in known:
            problems.append(f"pg2es: the forwarder reads no variable {key}")
    return problems


def check_opensearch_variant(services):
    """The "opensearch" profile: an OpenSearch node and a forwarder of its
    own (another slot), both only under that profile."""
    problems = []
    for name in ("opensearch", "pg2es-opensearch"):
        if name not in services:
            return ["service %s is missing" % name]
        if "opensearch" not in services[name].get("profiles", []):
            problems.append("%s is not under the profile opensearch" % name)
    if "test" not in services["opensearch"].get("healthcheck", {}):
        problems.append("service opensearch has no healthcheck")
    depends = services["pg2es-opensearch"].get("depends_on", {})
    if not isinstance(depends, dict) or \
            depends.get("opensearch", {}).get("condition") != "service_healthy":
        problems.append("pg2es-opensearch does not wait for opensearch to be healthy")
    env = services["pg2es-opensearch"].get("environment", {})
    if env.get("PG2ES_SLOT") == services["pg2es"].get("environment", {}).get("PG2ES_SLOT"):
        problems.append("pg2es-opensearch shares the slot of pg2es")
    if not str(env.get("PG2ES_ES_URL", "")).startswith("http://opensearch:"):
        problems.append("pg2es-opensearch does not point at the opensearch service")
    return problems


def cmd_compose(config_path, forwarder_dir):
    with open(config_path, encoding="utf-8") as f:
        config = yaml.safe_load(f)
    problems = check_compose(config, forwarder_dir)
    for problem in problems:
        print(problem)
    return 1 if problems else 0


def forwarder_variables(forwarder_dir):
    """The PG2ES_* variables the forwarder reads: PG2ES_ + each long option
    in upper case with underscores (cfg.c's rule), plus the secrets that
    exist only as variables."""
    with open(f"{forwarder_dir}/cfg.c", encoding="utf-8") as f:
        text = f.read()
    names = re.findall(r'\{"([a-z][a-z0-9-]*)", (?:required|no|optional)_argument', text)
    variables = {"PG2ES_" + n.upper().replace("-", "_") for n in names}
    variables.update(re.findall(r'getenv\("(PG2ES_[A-Z_]+)"\)', text))
    return variables


def test_variables(tests_dir):
    """The PG2ES_* settings the test scripts read (PG2ES_SEED, ...), which
    the README names beside the forwarder's own variables."""
    names = set()
    for top, _, files in os.walk(tests_dir):
        for name in files:
            if not name.endswith((".pl", ".pm", ".sh", ".py")):
                continue
            with open(os.path.join(top, name), encoding="utf-8", errors="replace") as f:
                names.update(re.findall(r"\bPG2ES_[A-Z_]+\b", f.read()))
    return names


def check_docs(doc, forwarder_dir):
    """Problems of a README text, as a list of strings."""
    problems = []
    with open(doc, encoding="utf-8") as f:
        text = f.read()
    for block in re.findall(r"```yaml\n(.*?)```", text, re.S):
        try:
            list(yaml.safe_load_all(block))
        except yaml.YAMLError as e:
            problems.append(f"{doc}: a YAML block does not parse: {e}")
    known = forwarder_variables(forwarder_dir) | test_variables(
        os.path.join(os.path.dirname(os.path.abspath(forwarder_dir)), "tests"))
    for variable in sorted(set(re.findall(r"\bPG2ES_[A-Z_]+\b", text))):
        if variable not in known:
            problems.append(f"{doc}: neither the forwarder nor a test reads variable {variable}")
    with open(f"{forwarder_dir}/http.c", encoding="utf-8") as f:
        served = f.read()
    for metric in sorted(set(re.findall(r"`(pg2es_[a-z_]+)", text))):
        if metric not in NOT_METRICS and metric not in served:
            problems.append(f"{doc}: the forwarder serves no metric {metric}")
    return problems


# Names in the README that look like metrics and are not: the role of
# sql/role.sql, the dynamic template of pg2es.mapping(), the slot of the
# primary in the standby hand-over example, the extension's two event
# triggers.
NOT_METRICS = {"pg2es_sync", "pg2es_beyond_depth_limit", "pg2es_primary",
               "pg2es_schema_changes", "pg2es_dropped_tables"}


def cmd_docs(doc, forwarder_dir):
    problems = check_docs(doc, forwarder_dir)
    for problem in problems:
        print(problem)
    return 1 if problems else 0


def main(argv):
    if len(argv) >= 3 and argv[1] == "images":
        return cmd_images(argv[2], argv[3:])
    if len(argv) == 3 and argv[1] == "pinned":
        return cmd_pinned(argv[2])
    if len(argv) == 4 and argv[1] == "apt":
        return cmd_apt(argv[2], argv[3])
    if len(argv) == 4 and argv[1] == "compose":
        return cmd_compose(argv[2], argv[3])
    if len(argv) == 4 and argv[1] == "docs":
        return cmd_docs(argv[2], argv[3])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
