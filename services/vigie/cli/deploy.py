"""``vigie deploy render``: write the Strimzi manifests of deploy/k8s that follow from the
registry of participants (topics, users with ACLs and quotas, the registry's ConfigMap file).

Why: after ``vigie onboard --registry-only`` (or any edit of the registry), the manifests
must follow, or the cluster and the workers disagree; ``--check`` is what CI runs (through
tests/unit/deploy/test_k8s_rendered.py) to refuse a registry change without its manifests.
"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.text import Text

from vigie import manifests
from vigie.reference.participants import load_registry
from vigie.settings import PROJECT_DIR, get_settings

deploy_app = typer.Typer(help="Manifestes Kubernetes (Strimzi) tirés du registre.",
                         no_args_is_help=True)
console = Console()


@deploy_app.command("render")
def render(
    out: Path = typer.Option(PROJECT_DIR / "deploy" / "k8s", "--out",
                             help="Dossier des manifestes"),
    partitions: int = typer.Option(manifests.K8S_PARTITIONS, help="VIGIE_PARTITIONS du cluster"),
    app_id: str = typer.Option(manifests.K8S_APP_ID, help="VIGIE_APP_ID des workers"),
    check: bool = typer.Option(False, "--check",
                               help="Ne rien écrire ; code 1 si un fichier n'est pas à jour"),
) -> None:
    """Écrire topics.yaml, users.yaml et participants.json depuis le registre
    (VIGIE_REGISTRY_FILE)."""
    settings = get_settings()
    files = manifests.render(load_registry(settings.registry_file), partitions, app_id)
    if check:
        stale = [name for name, text in files.items()
                 if not (out / name).exists()
                 or (out / name).read_text(encoding="utf-8") != text]
        if stale:
            console.print(Text(f"Pas à jour : {', '.join(stale)} (lancez vigie deploy render)",
                               style="red"))
            raise typer.Exit(1)
        console.print(Text("Manifestes à jour."))
        return
    out.mkdir(parents=True, exist_ok=True)
    changed = manifests.write(out, files)
    console.print(Text(f"Écrits : {', '.join(changed)}" if changed else "Déjà à jour."))
