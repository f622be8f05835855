"""`mutualaid admin`: the administrators' commands, gathered into one group in the order `--help` lists them.

Set-up (org units, programmes and policy years, users) is in mutualaid.cli_setup, rosters and renewal in
mutualaid.cli_enrolment, fund collection in mutualaid.cli_funds. A domain error (unknown unit, duplicate
reference, nothing to collect …) ends a command with its zh-CN message and exit code 1.
"""

from __future__ import annotations

import typer

from mutualaid.cli_enrolment import due_for_renewal_command, import_roster_command, renew_command
from mutualaid.cli_funds import receipt_command, reconcile_command, unit_payment_command
from mutualaid.cli_setup import add_org, add_programme, create_user_command, open_year

admin = typer.Typer(
    help="Set up the union tree, programmes, years and users; import rosters, renew, record the fund.",
    no_args_is_help=True,
)
admin.command("add-org")(add_org)
admin.command("add-programme")(add_programme)
admin.command("open-year")(open_year)
admin.command("create-user")(create_user_command)
admin.command("import-roster")(import_roster_command)
admin.command("renew")(renew_command)
admin.command("due-for-renewal")(due_for_renewal_command)
admin.command("receipt")(receipt_command)
admin.command("unit-payment")(unit_payment_command)
admin.command("reconcile")(reconcile_command)
