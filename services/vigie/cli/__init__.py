"""The ``vigie`` command: one typer sub-application per concern, registered here."""

import typer

app = typer.Typer(
    name="vigie",
    help="Vigie: event bus between social landlords and the police and gendarmerie of Oise.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)

# Sub-applications, one per concern (keep sorted). They import ``app``-free modules only.
from vigie.cli.broker import broker_app  # noqa: E402
from vigie.cli.db import db_app, followup, hotspots  # noqa: E402
from vigie.cli.deadletter import deadletter_app  # noqa: E402
from vigie.cli.deploy import deploy_app  # noqa: E402
from vigie.cli.force import ack, tail  # noqa: E402
from vigie.cli.gateway import gateway_app  # noqa: E402
from vigie.cli.onboard import offboard_app, onboard_app  # noqa: E402
from vigie.cli.partner import publish, simulate  # noqa: E402
from vigie.cli.ref import ref_app  # noqa: E402
from vigie.cli.report import report  # noqa: E402
from vigie.cli.route import route_app  # noqa: E402
from vigie.cli.run import run  # noqa: E402
from vigie.cli.schema import decode_command, schema_app  # noqa: E402
from vigie.cli.unit import unit_app  # noqa: E402
from vigie.cli.worker import topics_app, worker  # noqa: E402

app.command("ack")(ack)
app.add_typer(broker_app, name="broker")
app.add_typer(db_app, name="db")
app.add_typer(deadletter_app, name="deadletter")
app.add_typer(deploy_app, name="deploy")
app.command("decode")(decode_command)
app.command("followup")(followup)
app.add_typer(gateway_app, name="gateway")
app.command("hotspots")(hotspots)
app.add_typer(offboard_app, name="offboard")
app.add_typer(onboard_app, name="onboard")
app.command("publish")(publish)
app.add_typer(ref_app, name="ref")
app.command("report")(report)
app.add_typer(route_app, name="route")
app.command("run")(run)
app.add_typer(schema_app, name="schema")
app.command("simulate")(simulate)
app.command("tail")(tail)
app.add_typer(topics_app, name="topics")
app.add_typer(unit_app, name="unit")
app.command("worker")(worker)
